// Random augmentation plans, Mask2Former style. Each returns a FrameMap; compose them and apply
// once with warpSample. `rand` returns uniform numbers in [0, 1) (pass a seeded generator for
// reproducible runs, e.g. seededRandom from src/data/synth/rng.ts).
import { composeMaps, cropMap, flipMap, identityMap, resizeMap, type FrameMap } from './frame-map.ts';

export type Rand = () => number;

/** Horizontal flip with probability `prob` (detectron2 RandomFlip, default 0.5). */
export function randomFlipMap(width: number, height: number, rand: Rand, prob = 0.5): FrameMap {
  return rand() < prob ? flipMap(width, height) : identityMap(width, height);
}

export interface ScaleJitterOptions {
  targetWidth: number;
  targetHeight: number;
  minScale: number; // Mask2Former LSJ: 0.1
  maxScale: number; // Mask2Former LSJ: 2.0
}

/**
 * detectron2 ResizeScale (large-scale jitter): draw r in [minScale, maxScale], fit the image
 * into r * target keeping its aspect, and round the size. Per-axis scale = newSize / oldSize.
 */
export function randomScaleMap(width: number, height: number, rand: Rand, o: ScaleJitterOptions): FrameMap {
  if (!(o.minScale > 0 && o.maxScale >= o.minScale)) {
    throw new Error(`scale jitter needs 0 < minScale <= maxScale, got ${o.minScale}..${o.maxScale}`);
  }
  const r = o.minScale + (o.maxScale - o.minScale) * rand();
  const s = Math.min((o.targetHeight * r) / height, (o.targetWidth * r) / width);
  const newW = Math.max(1, Math.round(width * s));
  const newH = Math.max(1, Math.round(height * s));
  return resizeMap(width, height, newW, newH);
}

/**
 * detectron2 FixedSizeCrop: a random window of cropW x cropH at an integer offset
 * round(u * max(size - crop, 0)); when the image is smaller the rest is padding (bottom/right).
 */
export function randomCropMap(
  width: number,
  height: number,
  cropW: number,
  cropH: number,
  rand: Rand,
): FrameMap {
  const x0 = Math.round(Math.max(width - cropW, 0) * rand());
  const y0 = Math.round(Math.max(height - cropH, 0) * rand());
  return cropMap(width, height, x0, y0, cropW, cropH);
}

export interface LsjOptions extends ScaleJitterOptions {
  flipProb: number;
}

export const LSJ_DEFAULTS = { minScale: 0.1, maxScale: 2.0, flipProb: 0.5 } as const;

/** Mask2Former's COCO instance pipeline: RandomFlip, ResizeScale, FixedSizeCrop(target size). */
export function largeScaleJitterMap(width: number, height: number, rand: Rand, o: LsjOptions): FrameMap {
  const flip = randomFlipMap(width, height, rand, o.flipProb);
  const scale = randomScaleMap(width, height, rand, o);
  const crop = randomCropMap(scale.dstWidth, scale.dstHeight, o.targetWidth, o.targetHeight, rand);
  return composeMaps(composeMaps(flip, scale), crop);
}
