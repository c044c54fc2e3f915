// Inference on whole images (letterboxed into the model's square input) and COCO mask AP with the
// project's evaluator: what the trainer runs periodically and what `wish predict` runs.
import path from 'node:path';
import * as torch from '../engine/index.ts';
import { loadCocoJson } from '../data/coco/index.ts';
import { loadImage } from '../data/image/io.ts';
import { resizeImage } from '../data/image/resize.ts';
import type { RgbImage } from '../data/image/types.ts';
import { cocoEval, loadResults, type EvalGroundTruth } from '../eval/index.ts';
import { normalizeImages } from '../model/normalize.ts';
import { predictInstances, toCocoResults, type CocoResult, type Instance } from '../model/inference.ts';
import type { WishModel } from '../model/wish-model.ts';

/** Pad value of the letterbox (the dataset mean's neighbourhood, as training pads with 128). */
const PAD = 128;

/** One image's instances at its original size. */
export function predictImage(
  model: WishModel,
  img: RgbImage,
  inputSize: number,
  categoryIds: number[],
  minScore = 0,
): Instance[] {
  const S = inputSize;
  const scale = S / Math.max(img.width, img.height);
  const w = Math.max(1, Math.min(S, Math.round(img.width * scale)));
  const h = Math.max(1, Math.min(S, Math.round(img.height * scale)));
  const small = resizeImage(img, w, h);
  const px = new Uint8Array(3 * S * S).fill(PAD);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) px[c * S * S + y * S + x] = small.data[(y * w + x) * 3 + c];
    }
  }
  const device = model.parameters()[0]?.device ?? 'cpu';
  const images = torch.tidy(() => normalizeImages(torch.fromTypedArray(px, [1, 3, S, S], { device })));
  try {
    return predictInstances(model, images, [{ resized: [h, w], original: [img.height, img.width] }], {
      categoryIds,
      minScore,
    })[0];
  } finally {
    images.dispose();
  }
}

export interface ValSet {
  gt: EvalGroundTruth & { images: { id: number; file_name: string; width: number; height: number }[] };
  imagesDir: string;
}

export async function loadValSet(annotations: string, imagesDir: string, limit = 0): Promise<ValSet> {
  const ds = (await loadCocoJson(annotations)) as unknown as ValSet['gt'];
  if (limit > 0 && ds.images.length > limit) {
    const images = [...ds.images].sort((a, b) => a.id - b.id).slice(0, limit);
    const keep = new Set(images.map((i) => i.id));
    return {
      gt: { ...ds, images, annotations: ds.annotations.filter((a) => keep.has(a.image_id)) },
      imagesDir,
    };
  }
  return { gt: ds, imagesDir };
}

/** COCO segm evaluation of the model on the val set: stats[0] is mask AP (0..1). */
export async function evaluateMaskAp(
  model: WishModel,
  val: ValSet,
  inputSize: number,
  categoryIds: number[],
): Promise<{ ap: number; ap50: number; stats: Record<string, number>; results: CocoResult[] }> {
  const results: CocoResult[] = [];
  for (const im of val.gt.images) {
    const img = await loadImage(path.join(val.imagesDir, im.file_name));
    results.push(...toCocoResults(im.id, predictImage(model, img, inputSize, categoryIds)));
    await new Promise((r) => setImmediate(r));
  }
  if (results.length === 0) return { ap: 0, ap50: 0, stats: {}, results };
  const dts = loadResults(val.gt, results, 'predictions');
  const { stats } = cocoEval(val.gt, dts, 'segm');
  return { ap: stats.AP, ap50: stats.AP50, stats: { ...stats }, results };
}
