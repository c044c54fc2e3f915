// Record-level schema checks (zod) and whole-file cross-checks for COCO JSON.
import type { z } from 'zod';
import { IssueList } from './issues.ts';
import type { CocoDataset } from './types.ts';

/** Validates one record against a schema; on failure every zod issue becomes one DataIssue. */
export function checkRecord<T>(
  schema: z.ZodType<T>,
  raw: unknown,
  issues: IssueList,
  record: string,
): T | undefined {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  for (const zi of r.error.issues) issues.add(record, zi.path.map(String).join('.'), describeZodIssue(zi));
  return undefined;
}

function describeZodIssue(zi: z.core.$ZodIssue): string {
  // zod's union errors say only "Invalid input"; name the shapes a COCO segmentation may take instead.
  if (zi.code === 'invalid_union' && zi.path.at(-1) === 'segmentation')
    return 'expected a list of polygons [[x,y,...],...] or an RLE object {size:[h,w], counts}';
  if (zi.code === 'invalid_type' && zi.input === undefined) return 'required field is missing';
  return zi.message;
}

const annName = (a: { id: number }, i: number) => `annotation id ${a.id} (annotations[${i}])`;

/** Checks that hold across records: unique ids, references that resolve, RLE sizes that match their image. */
export function crossCheck(ds: CocoDataset, issues: IssueList): void {
  const images = new Map<number, { width: number; height: number }>();
  ds.images.forEach((im, i) => {
    if (images.has(im.id)) issues.add(`image id ${im.id} (images[${i}])`, 'id', 'duplicate image id');
    images.set(im.id, im);
  });
  const cats = new Set<number>();
  ds.categories.forEach((c, i) => {
    if (cats.has(c.id)) issues.add(`category id ${c.id} (categories[${i}])`, 'id', 'duplicate category id');
    cats.add(c.id);
  });
  const annIds = new Set<number>();
  ds.annotations.forEach((a, i) => {
    if (annIds.has(a.id)) issues.add(annName(a, i), 'id', 'duplicate annotation id');
    annIds.add(a.id);
    const im = images.get(a.image_id);
    if (!im) issues.add(annName(a, i), 'image_id', `image id ${a.image_id} is not in "images"`);
    if (!cats.has(a.category_id))
      issues.add(annName(a, i), 'category_id', `category id ${a.category_id} is not in "categories"`);
    const seg = a.segmentation;
    if (seg && !Array.isArray(seg)) {
      const [h, w] = seg.size;
      if (im && (h !== im.height || w !== im.width))
        issues.add(
          annName(a, i),
          'segmentation.size',
          `RLE size [${h},${w}] differs from image size [${im.height},${im.width}]`,
        );
      if (typeof seg.counts !== 'string') {
        let sum = 0;
        for (const c of seg.counts) sum += c;
        if (sum !== h * w)
          issues.add(
            annName(a, i),
            'segmentation.counts',
            `run lengths sum to ${sum}, expected height*width = ${h * w}`,
          );
      }
    }
  });
}
