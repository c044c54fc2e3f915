// Tiny COCO cases for hand-checkable evaluation tests: every object is an axis-aligned box, written
// as a polygon so segm and bbox evaluation see the same shape.
import type { EvalGroundTruth } from '../../src/eval/index.ts';

export type B = [number, number, number, number];

export function boxPolygon([x, y, w, h]: B): number[][] {
  return [[x, y, x + w, y, x + w, y + h, x, y + h]];
}

export interface GtSpec {
  image?: number;
  cat?: number;
  box: B;
  crowd?: boolean;
  id?: number;
}

export function makeGt(
  objects: GtSpec[],
  opts: { images?: number[]; cats?: number[]; size?: number } = {},
): EvalGroundTruth {
  const size = opts.size ?? 200;
  const images = (opts.images ?? [1]).map((id) => ({
    id,
    width: size,
    height: size,
    file_name: `${id}.png`,
  }));
  const categories = (opts.cats ?? [1]).map((id) => ({ id, name: `class${id}` }));
  const annotations = objects.map((o, i) => ({
    id: o.id ?? i + 1,
    image_id: o.image ?? 1,
    category_id: o.cat ?? 1,
    segmentation: boxPolygon(o.box),
    bbox: o.box,
    area: o.box[2] * o.box[3],
    iscrowd: o.crowd ? 1 : 0,
  }));
  return { images, categories, annotations };
}

export function boxResult(box: B, score: number, image = 1, cat = 1) {
  return { image_id: image, category_id: cat, bbox: box, score };
}
