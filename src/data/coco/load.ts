// Loads and validates a COCO instances JSON record by record (see read-json.ts for why streaming).
import type { z } from 'zod';
import { IssueList, recordName } from './issues.ts';
import { readCocoShapedJson, type ReadJsonOptions } from './read-json.ts';
import { annotationSchema, categorySchema, imageSchema, type CocoDataset } from './types.ts';
import { checkRecord, crossCheck } from './validate.ts';

export interface LoadCocoOptions extends ReadJsonOptions {
  /** Most problems listed in one error (default 50); the rest are counted. */
  maxIssues?: number;
}

export const COCO_LISTS = ['images', 'annotations', 'categories'] as const;

const schemas: Record<string, z.ZodType<unknown>> = {
  images: imageSchema,
  annotations: annotationSchema,
  categories: categorySchema,
};
const kinds = { images: 'image', annotations: 'annotation', categories: 'category' } as const;

/**
 * Reads `file` as COCO instances JSON. Throws DataFormatError listing every problem found (up to
 * maxIssues), each naming the file, the record and the field; nothing is dropped silently.
 */
export async function loadCocoJson(file: string, opts: LoadCocoOptions = {}): Promise<CocoDataset> {
  const issues = new IssueList(file, opts.maxIssues ?? 50);
  const lists: Record<(typeof COCO_LISTS)[number], unknown[]> = {
    images: [],
    annotations: [],
    categories: [],
  };
  const { rest, present } = await readCocoShapedJson(
    file,
    COCO_LISTS,
    (list, index, raw) => {
      const name = list as (typeof COCO_LISTS)[number];
      const v = checkRecord(schemas[name], raw, issues, recordName(kinds[name], index, raw));
      if (v !== undefined) lists[name].push(v);
    },
    opts,
  );
  for (const name of COCO_LISTS)
    if (!present.has(name)) issues.add('top level', name, `missing list "${name}"`);
  const ds = { ...rest, ...lists } as CocoDataset;
  if (issues.count === 0) crossCheck(ds, issues);
  issues.throwIfAny();
  return ds;
}

/** The loader's checks on an in-memory dataset (e.g. before writing one that a converter built). */
export function validateCoco(ds: CocoDataset, name: string, maxIssues = 50): void {
  const issues = new IssueList(name, maxIssues);
  for (const list of COCO_LISTS) {
    const arr = ds[list] as unknown[] | undefined;
    if (!Array.isArray(arr)) issues.add('top level', list, `missing list "${list}"`);
    else arr.forEach((raw, i) => checkRecord(schemas[list], raw, issues, recordName(kinds[list], i, raw)));
  }
  if (issues.count === 0) crossCheck(ds, issues);
  issues.throwIfAny();
}
