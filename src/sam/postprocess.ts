// From the decoder's low-resolution logits to the original image: bilinear (align_corners false, no
// antialias) up to the padded L x L input, crop away the padding, bilinear to the original size. Then
// binary masks by threshold and SAM's stability score.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';

export interface PostprocessSizes {
  /** L, the padded square input side. */
  imgSize: number;
  /** [h, w] of the resized image inside the padded input. */
  inputSize: [number, number];
  /** [H, W] of the original image. */
  originalSize: [number, number];
}

/** masks [B, k, 4h, 4w] logits -> [B, k, H, W] logits in the original image's frame. */
export function postprocessMasks(masks: Tensor, sizes: PostprocessSizes): Tensor {
  const { imgSize: L, inputSize, originalSize } = sizes;
  if (masks.ndim !== 4)
    throw new Error(`postprocessMasks: expected [B, k, h, w], got [${masks.shape.join(', ')}]`);
  if (inputSize[0] > L || inputSize[1] > L) {
    throw new Error(`postprocessMasks: input size ${inputSize.join('x')} exceeds the ${L}x${L} model input`);
  }
  return torch.tidy(() => {
    const full = torch.interpolate(masks, { size: [L, L], mode: 'bilinear', alignCorners: false });
    const cropped = full.slice(2, 0, inputSize[0]).slice(3, 0, inputSize[1]);
    return torch.interpolate(cropped, { size: originalSize, mode: 'bilinear', alignCorners: false });
  });
}

/**
 * Stability score of mask logits [..., H, W] -> [...]: #(logit > threshold + offset) / #(logit >
 * threshold - offset), the IoU between the mask thresholded higher and lower (float32 division, as the
 * official int32 / int32). An empty lower mask (0 / 0, NaN in the official code) scores 0, so scores stay
 * ordered when ranked.
 */
export function stabilityScore(logits: Tensor, threshold = 0, offset = 1): Tensor {
  if (logits.ndim < 2)
    throw new Error(`stabilityScore: expected [..., H, W], got [${logits.shape.join(', ')}]`);
  return torch.tidy(() => {
    const inter = logits
      .gt(threshold + offset)
      .sum([-2, -1], false, 'int64')
      .float();
    const union = logits
      .gt(threshold - offset)
      .sum([-2, -1], false, 'int64')
      .float();
    return inter.div(union.clampMin(1));
  });
}
