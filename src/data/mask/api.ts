// The pycocotools.mask interface on COCO JSON objects: encode, decode, area, toBbox, iou, merge,
// frPyObjects, plus annToRle (what COCO.annToRLE does with any segmentation form).
import { boxIou, rleIou } from './iou.ts';
import { rleFromBox, rleFromPolygon } from './polygon.ts';
import {
  checkSize,
  describe,
  rleArea,
  rleDecode,
  rleEncode,
  rleFromCoco,
  rleFromUncompressed,
  rleMerge,
  rleToBbox,
  rleToCoco,
} from './rle.ts';
import type { BinaryMask, Box, CocoRle, Rle } from './types.ts';

export function encode(mask: BinaryMask): CocoRle {
  return rleToCoco(rleEncode(mask));
}

export function decode(rle: CocoRle): BinaryMask {
  return rleDecode(rleFromCoco(rle));
}

export function area(rle: CocoRle): number {
  return rleArea(rleFromCoco(rle));
}

export function toBbox(rle: CocoRle): Box {
  return rleToBbox(rleFromCoco(rle));
}

/** Union (default) or intersection of same-size RLEs. */
export function merge(rles: CocoRle[], intersect = false): CocoRle {
  return rleToCoco(
    rleMerge(
      rles.map((r, i) => rleFromCoco(r, `merge[${i}]`)),
      intersect,
    ),
  );
}

function isBoxList(v: unknown[]): v is Box[] {
  return v.every((b) => Array.isArray(b) && b.length === 4 && b.every((x) => typeof x === 'number'));
}

/**
 * IoU matrix as rows per detection ([dt.length][gt.length]); both sides are RLEs or both are boxes.
 * Empty when either side is empty. Pairs of different image sizes give -1.
 */
export function iou(
  dt: CocoRle[] | Box[],
  gt: CocoRle[] | Box[],
  iscrowd: ArrayLike<boolean | number>,
): number[][] {
  if (iscrowd.length !== gt.length) {
    throw new Error(`iou: iscrowd has ${iscrowd.length} entries but there are ${gt.length} ground truths`);
  }
  if (dt.length === 0 || gt.length === 0) return [];
  let flat: Float64Array;
  const dtBoxes = isBoxList(dt);
  const gtBoxes = isBoxList(gt);
  if (dtBoxes && gtBoxes) flat = boxIou(dt, gt, iscrowd);
  else if (!dtBoxes && !gtBoxes) {
    flat = rleIou(
      (dt as unknown[]).map((r, i) => rleFromCoco(r, `iou dt[${i}]`)),
      (gt as unknown[]).map((r, i) => rleFromCoco(r, `iou gt[${i}]`)),
      iscrowd,
    );
  } else throw new Error('iou: dt and gt must both be RLEs or both be boxes [x, y, w, h]');
  const n = gt.length;
  return Array.from({ length: dt.length }, (_, d) => Array.from(flat.subarray(d * n, (d + 1) * n)));
}

function checkBox(b: unknown, where: string): Box {
  if (!Array.isArray(b) || b.length !== 4 || !b.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${where}: a box must be 4 finite numbers [x, y, w, h], got ${describe(b)}`);
  }
  return b as Box;
}

function checkPolygon(p: unknown, where: string): number[] {
  if (!Array.isArray(p)) throw new Error(`${where}: a polygon must be a list of numbers, got ${describe(p)}`);
  return p as number[];
}

function isRleObject(v: unknown): v is { size: unknown; counts: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'counts' in v && 'size' in v;
}

/**
 * pycocotools' frPyObjects, with its dispatch: a list whose first element has 4 numbers is a list of
 * boxes, a list whose first element is longer is a list of polygons, a list of {size, counts} objects
 * is uncompressed RLE; a single list of 4 numbers is one box, a longer one one polygon, a single
 * object one uncompressed RLE. Lists give a list of RLEs, single objects one RLE. Uncompressed RLE
 * keeps its own size, as in pycocotools.
 */
export function frPyObjectsRle(obj: unknown, h: number, w: number, where = 'segmentation'): Rle | Rle[] {
  checkSize([h, w], where);
  if (Array.isArray(obj) && obj.length > 0) {
    const first: unknown = obj[0];
    if (Array.isArray(first) && first.length === 4) {
      return obj.map((b, i) => rleFromBox(checkBox(b, `${where}[${i}]`), h, w, `${where}[${i}]`));
    }
    if (Array.isArray(first) && first.length > 4) {
      return obj.map((p, i) => rleFromPolygon(checkPolygon(p, `${where}[${i}]`), h, w, `${where}[${i}]`));
    }
    if (isRleObject(first)) return obj.map((r, i) => rleFromUncompressed(r, `${where}[${i}]`));
    if (typeof first === 'number') {
      if (obj.length === 4) return rleFromBox(checkBox(obj, where), h, w, where);
      if (obj.length > 4) return rleFromPolygon(checkPolygon(obj, where), h, w, where);
    }
  } else if (isRleObject(obj)) {
    return rleFromUncompressed(obj, where);
  }
  throw new Error(
    `${where}: unsupported form ${describe(obj)} (expected polygons, boxes or uncompressed RLE; ` +
      'a polygon needs at least 3 points)',
  );
}

export function frPyObjects(obj: unknown, h: number, w: number): CocoRle | CocoRle[] {
  const r = frPyObjectsRle(obj, h, w);
  return Array.isArray(r) ? r.map(rleToCoco) : rleToCoco(r);
}

/**
 * One RLE for an annotation's segmentation in any COCO form, as COCO.annToRLE builds it: polygon
 * lists are rasterised per part and merged, uncompressed RLE is converted, compressed RLE is parsed.
 */
export function annToRle(segmentation: unknown, h: number, w: number, where = 'segmentation'): Rle {
  if (Array.isArray(segmentation)) {
    const parts = frPyObjectsRle(segmentation, h, w, where);
    return rleMerge(Array.isArray(parts) ? parts : [parts], false, where);
  }
  if (isRleObject(segmentation) && Array.isArray(segmentation.counts)) {
    return rleFromUncompressed(segmentation, where);
  }
  return rleFromCoco(segmentation, where);
}
