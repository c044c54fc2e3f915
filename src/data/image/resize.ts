// Plain resizes: the whole image onto a new size, per-axis scale newSize / oldSize
// (the coordinate rule detectron2's ResizeTransform uses: x' = x * newW / oldW).
import { resampleImage, resampleMask, resampleBilinear } from './resample.ts';
import type { RgbImage } from './types.ts';

/** Bilinear (antialiased when shrinking) resize of an RGB image. */
export function resizeImage(img: RgbImage, width: number, height: number): RgbImage {
  return resampleImage(
    img,
    { scale: width / img.width, offset: 0 },
    { scale: height / img.height, offset: 0 },
    width,
    height,
  );
}

/** Nearest resize of a binary mask (H x W, row-major). */
export function resizeMask(
  mask: Uint8Array,
  srcW: number,
  srcH: number,
  width: number,
  height: number,
): Uint8Array {
  return resampleMask(
    mask,
    srcW,
    srcH,
    { scale: width / srcW, offset: 0 },
    { scale: height / srcH, offset: 0 },
    width,
    height,
  );
}

/** Bilinear resize of a single-channel float map (e.g. mask logits or a CAM). */
export function resizeFloat(
  map: ArrayLike<number>,
  srcW: number,
  srcH: number,
  width: number,
  height: number,
): Float32Array {
  return resampleBilinear(
    map,
    srcW,
    srcH,
    1,
    { scale: width / srcW, offset: 0 },
    { scale: height / srcH, offset: 0 },
    width,
    height,
    0,
  );
}
