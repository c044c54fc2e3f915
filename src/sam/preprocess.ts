// SAM's official preprocessing: ResizeLongestSide (PIL bilinear on uint8), then (x - mean) / std in
// float32 and zero padding right/bottom to L x L; and the matching prompt-coordinate transforms.
import * as torch from '../engine/index.ts';
import type { RgbImage } from '../data/image/types.ts';
import { pilResizeBilinear } from './pil-resize.ts';

export type HW = readonly [number, number];

/** ResizeLongestSide.get_preprocess_shape: [newH, newW] with the longest side L (float64, round half up). */
export function resizedShape(origHW: HW, L: number): [number, number] {
  const [h, w] = origHW;
  if (!(h > 0 && w > 0) || !Number.isInteger(h) || !Number.isInteger(w))
    throw new Error(`SAM preprocessing: image size must be positive integers, got ${h}x${w} (HxW)`);
  const s = L / Math.max(h, w);
  return [Math.trunc(h * s + 0.5), Math.trunc(w * s + 0.5)];
}

/** The uint8 image resized so its longest side is L (PIL bilinear, bit-exact). */
export function resizeLongestSide(img: RgbImage, L: number): RgbImage {
  const [nh, nw] = resizedShape([img.height, img.width], L);
  return pilResizeBilinear(img, nw, nh);
}

export interface PixelStats {
  pixelMean: readonly [number, number, number];
  pixelStd: readonly [number, number, number];
}

/**
 * (x - mean) / std per RGB channel, computed as torch does it in float32 (uint8 promoted, float32 buffers),
 * laid out CHW and zero padded right/bottom to L x L. Returns Float32Array of 3 * L * L.
 */
export function normalizeAndPad(resized: RgbImage, L: number, stats: PixelStats): Float32Array {
  const { width: w, height: h, data } = resized;
  if (w > L || h > L)
    throw new Error(`SAM preprocessing: resized image ${h}x${w} exceeds the input size ${L}`);
  const out = new Float32Array(3 * L * L);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(stats.pixelMean[c]);
    const s = Math.fround(stats.pixelStd[c]);
    // Every value is uint8, so a 256-entry table computes each once; fround of the float64 result is the
    // correctly rounded float32 op (both the difference and the quotient of float32s round exactly so).
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(v - m) / s);
    const plane = c * L * L;
    for (let y = 0; y < h; y++) {
      const row = plane + y * L;
      const src = y * w * 3 + c;
      for (let x = 0; x < w; x++) out[row + x] = table[data[src + x * 3]];
    }
  }
  return out;
}

export interface SamInput {
  /** [1, 3, L, L] float32, normalised and padded. */
  tensor: torch.Tensor;
  /** [H, W] of the original image. */
  originalSize: [number, number];
  /** [newH, newW] after ResizeLongestSide (the valid region of the input). */
  inputSize: [number, number];
}

/** Whole pipeline from a uint8 RGB image to the model input tensor [1, 3, L, L]. */
export function preprocessImage(img: RgbImage, L: number, stats: PixelStats): SamInput {
  const resized = resizeLongestSide(img, L);
  const data = normalizeAndPad(resized, L, stats);
  return {
    tensor: torch.fromTypedArray(data, [1, 3, L, L]),
    originalSize: [img.height, img.width],
    inputSize: [resized.height, resized.width],
  };
}

/**
 * ResizeLongestSide.apply_coords: points (x, y) in the original image -> the resized image, as
 * x * (newW / W), y * (newH / H) in float64, then cast to float32 (SamPredictor's torch.as_tensor).
 * `coords` is flat [x0, y0, x1, y1, ...]; returns a new Float32Array of the same length.
 */
export function applyCoords(coords: ArrayLike<number>, origHW: HW, L: number): Float32Array {
  if (coords.length % 2 !== 0)
    throw new Error(`applyCoords: expected (x, y) pairs, got ${coords.length} numbers`);
  const [h, w] = origHW;
  const [nh, nw] = resizedShape(origHW, L);
  const sx = nw / w;
  const sy = nh / h;
  const out = new Float32Array(coords.length);
  for (let i = 0; i < coords.length; i += 2) {
    out[i] = coords[i] * sx;
    out[i + 1] = coords[i + 1] * sy;
  }
  return out;
}

/** ResizeLongestSide.apply_boxes: flat [x0, y0, x1, y1, ...] boxes, each corner as in applyCoords. */
export function applyBoxes(boxes: ArrayLike<number>, origHW: HW, L: number): Float32Array {
  if (boxes.length % 4 !== 0)
    throw new Error(`applyBoxes: expected boxes of 4 numbers, got ${boxes.length} numbers`);
  return applyCoords(boxes, origHW, L);
}
