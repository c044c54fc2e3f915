// Input normalisation the backbones expect: RGB on a 0-255 scale, minus ImageNet's mean, over its
// standard deviation (Mask2Former's PIXEL_MEAN / PIXEL_STD, the statistics torchvision's weights use).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { deviceConstant } from './device-constants.ts';

export const PIXEL_MEAN = [123.675, 116.28, 103.53] as const;
export const PIXEL_STD = [58.395, 57.12, 57.375] as const;

/** images [B, 3, H, W], RGB 0..255 (any dtype) -> float32 (x - mean) / std per channel */
export function normalizeImages(images: Tensor): Tensor {
  const s = images.shape;
  if (s.length !== 4 || s[1] !== 3)
    throw new Error(`normalizeImages: expected [B, 3, H, W], got [${s.join(', ')}]`);
  const stat = (name: string, values: readonly number[]): Tensor =>
    deviceConstant(`pixel-${name}`, images.device, (device) =>
      torch.tensor([...values], { device }).view(1, 3, 1, 1),
    );
  return torch.tidy(() => images.float().sub(stat('mean', PIXEL_MEAN)).div(stat('std', PIXEL_STD)));
}
