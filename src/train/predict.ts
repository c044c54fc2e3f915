// Prediction with a trained checkpoint: COCO results (compressed RLE) and an overlay PNG per image.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as torch from '../engine/index.ts';
import { loadTrainingCheckpoint } from '../engine/io/checkpoint.ts';
import { loadImage, savePng, writeFileAtomic } from '../data/image/io.ts';
import { buildModel } from '../model/build.ts';
import { toCocoResults, type CocoResult } from '../model/inference.ts';
import type { WishModel } from '../model/wish-model.ts';
import { drawMaskOverlay } from '../sam/overlay.ts';
import { predictImage } from './evaluate.ts';

/** Rebuilds the model a `wish train` checkpoint holds; returns it with its input size and category ids. */
export async function loadTrainedModel(
  file: string,
): Promise<{ model: WishModel; inputSize: number; categoryIds: number[] }> {
  const ck = await loadTrainingCheckpoint(file);
  try {
    const cfgText = ck.extra?.modelConfig;
    const idsText = ck.extra?.categoryIds;
    if (!cfgText || !idsText)
      throw new Error(`${file}: not a wish train checkpoint (no modelConfig / categoryIds)`);
    const cfg = JSON.parse(cfgText) as { inputSize: number };
    const model = buildModel(cfg, `${file} modelConfig`);
    model.loadStateDict(ck.model);
    model.eval();
    return { model, inputSize: cfg.inputSize, categoryIds: JSON.parse(idsText) as number[] };
  } finally {
    torch.dispose([ck.model, ck.optim?.slots]);
  }
}

/** Image ids from a COCO ground truth, by the base name of each image's file_name. */
export function imageIdsFromGt(gt: { images: { id: number; file_name: string }[] }): Map<string, number> {
  return new Map(gt.images.map((im) => [path.basename(im.file_name), im.id]));
}

export async function predictFiles(o: {
  checkpoint: string;
  files: string[];
  outDir: string;
  minScore: number;
  /** base name -> image id (e.g. imageIdsFromGt); default: 1-based position in `files`. */
  imageIds?: Map<string, number>;
  onImage?: (done: number) => void;
  /** 'cpu' (default) or 'cuda'. */
  device?: string;
}): Promise<{ results: CocoResult[]; resultsFile: string; overlayDir: string; imagesFile: string }> {
  const { model, inputSize, categoryIds } = await loadTrainedModel(o.checkpoint);
  if (o.device && o.device !== 'cpu') model.to(o.device);
  const overlayDir = path.join(o.outDir, 'overlays');
  await mkdir(overlayDir, { recursive: true });
  const results: CocoResult[] = [];
  const ids = new Set<number>();
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  for (const [i, file] of o.files.entries()) {
    const id = o.imageIds ? o.imageIds.get(path.basename(file)) : i + 1;
    if (id === undefined) throw new Error(`${file}: not among the ground truth's images`);
    if (ids.has(id)) throw new Error(`${file}: image id ${id} is used by an earlier file`);
    ids.add(id);
    const img = await loadImage(file);
    images.push({ id, file_name: path.resolve(file), width: img.width, height: img.height });
    const inst = predictImage(model, img, inputSize, categoryIds, o.minScore);
    results.push(...toCocoResults(id, inst));
    const plane = img.width * img.height;
    const masks = new Uint8Array(inst.length * plane);
    inst.forEach((x, k) => masks.set(x.mask.data, k * plane));
    const name = path.basename(file, path.extname(file));
    await savePng(path.join(overlayDir, `${name}.png`), drawMaskOverlay(img, masks, inst.length));
    o.onImage?.(i + 1);
    await new Promise((r) => setImmediate(r));
  }
  const resultsFile = path.join(o.outDir, 'results.json');
  await writeFileAtomic(resultsFile, JSON.stringify(results));
  // Which id each input got, so results can be matched to files.
  const imagesFile = path.join(o.outDir, 'images.json');
  await writeFileAtomic(imagesFile, JSON.stringify(images, null, 1));
  model.dispose();
  return { results, resultsFile, overlayDir, imagesFile };
}
