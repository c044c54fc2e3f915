// Detection results as COCO.loadRes reads them, with every defect refused by name (file, index, field).
// pycocotools decides the form from the FIRST result: if it has a non-empty bbox, every result must
// have one, area becomes w*h (for segm evaluation too) and a missing segmentation becomes the box's
// polygon; otherwise every result must have a compressed RLE segmentation, area is its pixel count and
// a missing bbox is the mask's tight box.
import { readFile } from 'node:fs/promises';
import { annToRle, rleArea, rleFromCoco, rleToBbox, type Box, type Rle } from '../data/mask/index.ts';
import type { Detection, EvalGroundTruth } from './types.ts';

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : String(v);
}

/** Reads and parses a results file; a file that is not JSON is refused with the parser's reason. */
export async function readResultsFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(
      `${file}: cannot read the results file (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

function checkBox(v: unknown, where: string): Box {
  if (!Array.isArray(v) || v.length !== 4) {
    throw new Error(`${where}: bbox must be [x, y, w, h], got ${describe(v)}`);
  }
  for (let j = 0; j < 4; j++) {
    if (typeof v[j] !== 'number' || !Number.isFinite(v[j])) {
      throw new Error(`${where}: bbox[${j}] must be a finite number, got ${describe(v[j])}`);
    }
  }
  if (v[2] < 0 || v[3] < 0)
    throw new Error(`${where}: bbox width and height must be >= 0, got ${v[2]}x${v[3]}`);
  return [v[0], v[1], v[2], v[3]];
}

/**
 * Turns parsed results into detections against `gt`. An empty list is accepted (pycocotools would
 * crash on it) and evaluates to zero precision wherever ground truth exists.
 */
export function loadResults(gt: EvalGroundTruth, raw: unknown, file = 'results'): Detection[] {
  if (!Array.isArray(raw))
    throw new Error(`${file}: results must be a JSON list of detections, got ${describe(raw)}`);
  const images = new Map(gt.images.map((im) => [im.id, im]));
  const categories = new Set(gt.categories.map((c) => c.id));
  const first = raw[0] as Record<string, unknown> | undefined;
  const boxForm =
    first !== null && typeof first === 'object' && Array.isArray(first.bbox) && first.bbox.length > 0;
  const out: Detection[] = new Array(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as Record<string, unknown>;
    let where = `${file}[${i}]`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) {
      throw new Error(`${where}: a detection must be an object, got ${describe(r)}`);
    }
    const imageId = r.image_id;
    const image = typeof imageId === 'number' ? images.get(imageId) : undefined;
    if (image === undefined) {
      throw new Error(`${where}: image_id ${describe(imageId)} is not an image of the ground truth`);
    }
    where += ` (image_id ${imageId})`;
    if (typeof r.category_id !== 'number' || !categories.has(r.category_id)) {
      throw new Error(
        `${where}: category_id ${describe(r.category_id)} is not a category of the ground truth`,
      );
    }
    if (typeof r.score !== 'number' || !Number.isFinite(r.score)) {
      throw new Error(`${where}: score must be a finite number, got ${describe(r.score)}`);
    }
    const h = image.height;
    const w = image.width;
    let rle: Rle | undefined;
    let bbox: Box;
    let area: number;
    if (boxForm) {
      if (r.bbox === undefined) {
        throw new Error(`${where}: bbox is missing (the first result has a bbox, so every result needs one)`);
      }
      bbox = checkBox(r.bbox, where);
      if (r.segmentation !== undefined) rle = annToRle(r.segmentation, h, w, `${where}: segmentation`);
      area = bbox[2] * bbox[3];
    } else {
      if (r.segmentation === undefined) {
        throw new Error(
          i === 0
            ? `${where}: a detection needs a bbox or a segmentation`
            : `${where}: segmentation is missing (the first result has one and no bbox, so every result needs one)`,
        );
      }
      const seg = r.segmentation as { counts?: unknown };
      if (seg === null || typeof seg !== 'object' || typeof seg.counts !== 'string') {
        throw new Error(
          `${where}: segmentation must be compressed RLE {size, counts: string} in mask results, got ` +
            (Array.isArray(seg) ? 'polygons' : describe(seg)),
        );
      }
      rle = rleFromCoco(seg, `${where}: segmentation`);
      area = rleArea(rle);
      bbox = r.bbox === undefined ? rleToBbox(rle) : checkBox(r.bbox, where);
    }
    if (rle !== undefined && (rle.height !== h || rle.width !== w)) {
      throw new Error(`${where}: segmentation size is ${rle.height}x${rle.width} but the image is ${h}x${w}`);
    }
    // The mask's own box: the IoU pre-check uses it even where the stated bbox says otherwise.
    const maskBox = rle === undefined ? undefined : !boxForm && r.bbox === undefined ? bbox : rleToBbox(rle);
    out[i] = {
      id: i + 1,
      image_id: imageId as number,
      category_id: r.category_id,
      score: r.score,
      area,
      bbox,
      rle,
      maskBox,
    };
  }
  return out;
}
