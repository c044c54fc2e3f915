// Mask2Former's instance inference: class probabilities without "no object", the top k of all
// (query, class) pairs, each pair's mask upsampled to the image and thresholded at logit 0 (probability
// 0.5), scored as class probability x mean mask probability inside its binary mask. Boxes are the masks'
// bounding boxes. Plus the COCO results encoding (compressed RLE through src/data/mask).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { encode } from '../data/mask/index.ts';
import type { BinaryMask, Box, CocoRle } from '../data/mask/index.ts';
import type { WishModel } from './wish-model.ts';

export interface Instance {
  /** class index 0..C-1, or the categoryIds entry for it when given */
  categoryId: number;
  score: number;
  /** binary mask at the output size, row-major */
  mask: BinaryMask;
  /** COCO [x, y, width, height] of the mask (zeros for an empty mask) */
  bbox: Box;
}

export interface ImageFrame {
  /** [height, width] of the image's content inside the network input (before any padding) */
  resized: [number, number];
  /** [height, width] to produce masks at (the original image); default: resized */
  original?: [number, number];
}

export interface InferenceOptions {
  /** Pairs kept per image; default the number of queries (Mask2Former's test_topk_per_image = 100 = Q). */
  topK?: number;
  /** Dataset category ids by class index (COCO's are not 0..C-1). */
  categoryIds?: number[];
  /** Drop instances scoring below this (default 0: keep all k, as Mask2Former does). */
  minScore?: number;
}

/**
 * predLogits [B, Q, C+1], predMasks [B, Q, h, w] (mask logits at stride 4 of the network input, whose size
 * is [4h, 4w]); frames[b] says where image b lies in the input and its original size.
 * -> per image, instances in decreasing score order.
 */
export function instanceInference(
  predLogits: Tensor,
  predMasks: Tensor,
  frames: ImageFrame[],
  opts: InferenceOptions = {},
): Instance[][] {
  const [b, q, c1] = predLogits.shape;
  const [bm, qm, h, w] = predMasks.shape;
  if (bm !== b || qm !== q) {
    throw new Error(
      `instanceInference: logits [${predLogits.shape}] and masks [${predMasks.shape}] disagree`,
    );
  }
  if (frames.length !== b) throw new Error(`instanceInference: ${frames.length} frames for ${b} images`);
  const numClasses = c1 - 1;
  if (opts.categoryIds && opts.categoryIds.length !== numClasses) {
    throw new Error(`instanceInference: ${opts.categoryIds.length} category ids for ${numClasses} classes`);
  }
  const k = Math.min(opts.topK ?? q, q * numClasses);
  const out: Instance[][] = [];
  for (let i = 0; i < b; i++) {
    out.push(
      torch.noGrad(() =>
        torch.tidy(() =>
          imageInstances(
            predLogits.select(0, i),
            predMasks.select(0, i),
            [4 * h, 4 * w],
            frames[i],
            k,
            numClasses,
            opts,
          ),
        ),
      ),
    );
  }
  return out;
}

function imageInstances(
  logits: Tensor, // [Q, C+1]
  masks: Tensor, // [Q, h, w]
  inputSize: [number, number],
  frame: ImageFrame,
  k: number,
  numClasses: number,
  opts: InferenceOptions,
): Instance[] {
  const [rh, rw] = frame.resized;
  if (rh > inputSize[0] || rw > inputSize[1] || rh <= 0 || rw <= 0) {
    throw new Error(
      `instanceInference: resized size ${rh}x${rw} does not fit the ${inputSize[0]}x${inputSize[1]} input`,
    );
  }
  const [oh, ow] = frame.original ?? frame.resized;
  const probs = logits.softmax(-1).narrow(-1, 0, numClasses); // [Q, C]
  const { values, indices } = probs.flatten().topk(k, -1, true, true);
  const flat = indices.toTypedArray() as BigInt64Array;
  const classProb = values.toFloat32Array();
  const query = torch
    .tensor(
      Array.from(flat, (v) => Math.floor(Number(v) / numClasses)),
      { device: masks.device },
    )
    .long();
  // [k, h, w] -> input size -> crop the content -> original size (Mask2Former's sem_seg_postprocess)
  let m = torch.interpolate(masks.indexSelect(0, query).unsqueeze(0), {
    size: inputSize,
    mode: 'bilinear',
    alignCorners: false,
  });
  m = m.narrow(2, 0, rh).narrow(3, 0, rw);
  if (oh !== rh || ow !== rw)
    m = torch.interpolate(m, { size: [oh, ow], mode: 'bilinear', alignCorners: false });
  m = m.squeeze(0); // [k, oh, ow]
  const binary = m.gt(0);
  const area = binary.sum([1, 2]);
  const maskScore = m.sigmoid().mul(binary).sum([1, 2]).div(area.add(1e-6)).toFloat32Array();
  const bits = binary.to('uint8').contiguous().toTypedArray() as Uint8Array;
  const plane = oh * ow;
  const result: Instance[] = [];
  for (let j = 0; j < k; j++) {
    const score = classProb[j] * maskScore[j];
    if (score < (opts.minScore ?? 0)) continue;
    const cls = Number(flat[j]) % numClasses;
    const data = bits.slice(j * plane, (j + 1) * plane);
    result.push({
      categoryId: opts.categoryIds ? opts.categoryIds[cls] : cls,
      score,
      mask: { height: oh, width: ow, data },
      bbox: maskBox(data, oh, ow),
    });
  }
  // top-k is in class-probability order; the final score also weighs the mask
  result.sort((a, b) => b.score - a.score);
  return result;
}

/**
 * Runs the model in eval mode without gradients on a batch of normalised images [B, 3, H, W] and returns
 * each image's instances (the model's train/eval mode is restored afterwards).
 */
export function predictInstances(
  model: WishModel,
  images: Tensor,
  frames: ImageFrame[],
  opts: InferenceOptions = {},
): Instance[][] {
  const wasTraining = model.training;
  model.eval();
  try {
    return torch.noGrad(() =>
      torch.tidy(() => {
        const out = model.forward(images);
        return instanceInference(out.predLogits, out.predMasks, frames, opts);
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

/** COCO [x, y, w, h] bounding box of the nonzero pixels of a row-major mask; zeros when empty. */
export function maskBox(data: Uint8Array, height: number, width: number): Box {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}

export interface CocoResult {
  image_id: number;
  category_id: number;
  segmentation: CocoRle;
  score: number;
  bbox: Box;
}

/** One image's instances as COCO results (compressed RLE segmentation). */
export function toCocoResults(imageId: number, instances: Instance[]): CocoResult[] {
  return instances.map((inst) => ({
    image_id: imageId,
    category_id: inst.categoryId,
    segmentation: encode(inst.mask),
    score: inst.score,
    bbox: inst.bbox,
  }));
}
