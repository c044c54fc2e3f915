// Loads a weak-label dataset: record-by-record schema checks, then COCO cross-checks and the
// label-kind rules of validate.ts. All problems (up to a cap) are reported together.
import type { z } from 'zod';
import { IssueList, recordName } from '../coco/issues.ts';
import { readCocoShapedJson, type ReadJsonOptions } from '../coco/read-json.ts';
import { categorySchema } from '../coco/types.ts';
import { writeCocoShapedJson } from '../coco/write.ts';
import { weakAnnotationSchema, weakImageSchema, type WeakDataset } from './types.ts';
import { validateWeak } from './validate.ts';
import { checkRecord } from '../coco/validate.ts';

export interface LoadWeakOptions extends ReadJsonOptions {
  maxIssues?: number;
}

const LISTS = ['images', 'annotations', 'categories'] as const;
const schemas: Record<string, z.ZodType<unknown>> = {
  images: weakImageSchema,
  annotations: weakAnnotationSchema,
  categories: categorySchema,
};
const kinds = { images: 'image', annotations: 'annotation', categories: 'category' } as const;

export async function loadWeakDataset(file: string, opts: LoadWeakOptions = {}): Promise<WeakDataset> {
  const issues = new IssueList(file, opts.maxIssues ?? 50);
  const lists: Record<string, unknown[]> = { images: [], annotations: [], categories: [] };
  const { rest, present } = await readCocoShapedJson(
    file,
    LISTS,
    (list, index, raw) => {
      const v = checkRecord(
        schemas[list],
        raw,
        issues,
        recordName(kinds[list as (typeof LISTS)[number]], index, raw),
      );
      if (v !== undefined) lists[list].push(v);
    },
    opts,
  );
  for (const name of LISTS) if (!present.has(name)) issues.add('top level', name, `missing list "${name}"`);
  const ds = { ...rest, ...lists } as WeakDataset;
  if (issues.count === 0) validateWeak(ds, issues);
  issues.throwIfAny();
  return ds;
}

/** Validates in memory (so a bad dataset is never written), then writes via temp file + rename. */
export async function writeWeakDataset(file: string, ds: WeakDataset, maxIssues = 50): Promise<void> {
  const issues = new IssueList(`${file} (before writing)`, maxIssues);
  validateWeak(ds, issues);
  issues.throwIfAny();
  await writeCocoShapedJson(file, ds);
}
