// What every backbone hands to a pixel decoder: four feature maps at strides 4, 8, 16, 32 (detectron2's
// res2..res5 names, which Mask2Former's pixel decoders key on).
import type { Tensor } from '../../engine/index.ts';
import { Module } from '../../engine/nn/index.ts';

export const FEATURE_NAMES = ['res2', 'res3', 'res4', 'res5'] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** res2 [B, C2, H/4, W/4], res3 [B, C3, H/8, W/8], res4 [B, C4, H/16, W/16], res5 [B, C5, H/32, W/32] */
export type Features = Record<FeatureName, Tensor>;

export interface FeatureSpec {
  channels: number;
  stride: number;
}
export type FeatureSpecs = Record<FeatureName, FeatureSpec>;

export abstract class Backbone extends Module {
  /** Channels and stride of each output map. */
  abstract readonly outputShapes: FeatureSpecs;
  /** images [B, 3, H, W] (normalised) -> Features */
  abstract forward(images: Tensor): Features;
}

/** Throws unless images is [B, 3, H, W] with H and W multiples of `multiple` (so every stride divides). */
export function checkImages(images: Tensor, multiple: number, who: string): void {
  const s = images.shape;
  if (s.length !== 4 || s[1] !== 3)
    throw new Error(`${who}: images must be [B, 3, H, W], got [${s.join(', ')}]`);
  if (s[2] % multiple !== 0 || s[3] % multiple !== 0) {
    throw new Error(`${who}: image size ${s[2]}x${s[3]} must be a multiple of ${multiple}`);
  }
}
