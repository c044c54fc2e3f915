// Semantic checks of a weak-label dataset: every label must fit its image's label_type and lie in
// the image. Each problem is reported with the file, the image or annotation id and what is wrong.
import type { IssueList } from '../coco/issues.ts';
import { crossCheck } from '../coco/validate.ts';
import type { CocoDataset } from '../coco/types.ts';
import { ANNOTATION_FIELD, type WeakDataset, type WeakImage } from './types.ts';

const LABEL_FIELDS = ['point', 'bbox', 'segmentation'] as const;

export function validateWeak(ds: WeakDataset, issues: IssueList): void {
  // Unique ids, annotation -> image/category references, RLE sizes: shared with plain COCO.
  crossCheck(ds as unknown as CocoDataset, issues);
  const cats = new Set(ds.categories.map((c) => c.id));
  const images = new Map<number, WeakImage>(ds.images.map((im) => [im.id, im]));

  ds.images.forEach((im, i) => {
    const rec = `image id ${im.id} (images[${i}])`;
    if (im.label_type === 'tag') {
      if (im.tags === undefined)
        issues.add(rec, 'tags', 'a tag image needs "tags": the list of class ids present');
      else {
        const seen = new Set<number>();
        im.tags.forEach((t, k) => {
          if (!cats.has(t)) issues.add(rec, `tags.${k}`, `unknown class id ${t} (not in "categories")`);
          if (seen.has(t)) issues.add(rec, `tags.${k}`, `class id ${t} is listed twice`);
          seen.add(t);
        });
      }
    } else if (im.tags !== undefined) {
      issues.add(rec, 'tags', `"tags" on a ${im.label_type} image (only tag images list tags)`);
    }
  });

  ds.annotations.forEach((a, i) => {
    const rec = `annotation id ${a.id} (annotations[${i}]) of image id ${a.image_id}`;
    const im = images.get(a.image_id);
    if (!im) return; // reported by crossCheck
    const kind = im.label_type;
    const wanted = ANNOTATION_FIELD[kind];
    if (wanted === null) {
      issues.add(
        rec,
        '',
        `a ${kind} image has no annotations (${kind === 'tag' ? 'its classes go in the image\'s "tags"' : 'it is unlabeled'})`,
      );
      return;
    }
    for (const f of LABEL_FIELDS) {
      // Mask annotations may keep COCO's bbox (it is derived from the mask, not a separate label).
      if (f !== wanted && a[f] !== undefined && !(kind === 'mask' && f === 'bbox'))
        issues.add(
          rec,
          f,
          `a ${f === 'bbox' ? 'box' : f} on a ${kind} image (its annotations carry "${wanted}" only)`,
        );
    }
    if (a[wanted] === undefined) {
      issues.add(rec, wanted, `a ${kind} image's annotation needs "${wanted}"`);
      return;
    }
    const W = im.width;
    const H = im.height;
    if (kind === 'point') {
      const [x, y] = a.point!;
      if (!(x >= 0 && x < W && y >= 0 && y < H))
        issues.add(
          rec,
          'point',
          `point [${x}, ${y}] is outside the ${W}x${H} image (needs 0 <= x < ${W}, 0 <= y < ${H})`,
        );
    } else if (kind === 'box') {
      const [x, y, w, h] = a.bbox!;
      if (!(w > 0 && h > 0))
        issues.add(rec, 'bbox', `box [${x}, ${y}, ${w}, ${h}] has non-positive width or height`);
      else if (x < 0 || y < 0 || x + w > W || y + h > H)
        issues.add(rec, 'bbox', `box [${x}, ${y}, ${w}, ${h}] reaches outside the ${W}x${H} image`);
    }
  });
}
