// The training-time augmentation in one call: plan a large-scale-jitter map, apply it once.
import { largeScaleJitterMap, LSJ_DEFAULTS, type LsjOptions, type Rand } from './random.ts';
import { warpSample, type LabeledInstance, type LabeledSample, type WarpedSample } from './warp.ts';

export interface AugmentOptions extends Partial<Omit<LsjOptions, 'targetWidth' | 'targetHeight'>> {
  targetWidth: number;
  targetHeight: number;
  /** Image padding value; detectron2's FixedSizeCrop pads images with 128. */
  imagePad?: number;
}

/**
 * Mask2Former's instance augmentation (RandomFlip, ResizeScale, FixedSizeCrop) applied to the image
 * and every instance's mask / RLE / point / box together. The result carries `map` (original ->
 * augmented) and `inverse`, and `kept` (which input instances survived).
 */
export function augmentSample<I extends LabeledInstance>(
  sample: LabeledSample<I>,
  rand: Rand,
  o: AugmentOptions,
): WarpedSample<I> {
  const m = largeScaleJitterMap(sample.image.width, sample.image.height, rand, { ...LSJ_DEFAULTS, ...o });
  return warpSample(sample, m, o.imagePad ?? 128);
}
