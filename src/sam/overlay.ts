// Draws SAM masks and prompts over an RGB image, for people to look at (wish sam predict's overlay.png).
import type { RgbImage } from '../data/image/types.ts';

/** Mask colours in order (mask 0, 1, 2, ...), repeating. */
export const MASK_COLOURS: readonly (readonly [number, number, number])[] = [
  [30, 144, 255],
  [255, 140, 0],
  [50, 205, 50],
  [220, 20, 160],
  [255, 215, 0],
];

export interface OverlayPrompts {
  /** (x, y, label) in the image's pixels; label 1 drawn green, 0 red. */
  points?: [number, number, number][];
  /** (x0, y0, x1, y1) */
  box?: [number, number, number, number] | null;
}

/**
 * A copy of `img` with each mask (k binary H x W planes, row-major) blended in its colour at `alpha`,
 * larger masks first so smaller ones stay visible, then the prompts drawn on top.
 */
export function drawMaskOverlay(
  img: RgbImage,
  masks: Uint8Array,
  count: number,
  prompts: OverlayPrompts = {},
  alpha = 0.5,
): RgbImage {
  const { width: W, height: H } = img;
  const plane = W * H;
  if (masks.length !== count * plane) {
    throw new Error(`drawMaskOverlay: ${masks.length} mask values, expected ${count} x ${H} x ${W}`);
  }
  const out = new Uint8Array(img.data);
  const area = (m: number): number => {
    let n = 0;
    for (let i = m * plane; i < (m + 1) * plane; i++) n += masks[i] ? 1 : 0;
    return n;
  };
  const order = Array.from({ length: count }, (_, m) => m).sort((a, b) => area(b) - area(a));
  for (const m of order) {
    const c = MASK_COLOURS[m % MASK_COLOURS.length];
    for (let i = 0; i < plane; i++) {
      if (!masks[m * plane + i]) continue;
      for (let ch = 0; ch < 3; ch++)
        out[i * 3 + ch] = Math.round((1 - alpha) * out[i * 3 + ch] + alpha * c[ch]);
    }
  }
  const put = (x: number, y: number, c: readonly number[]): void => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) return;
    out.set(c, (yi * W + xi) * 3);
  };
  if (prompts.box) {
    const [x0, y0, x1, y1] = prompts.box;
    const yellow = [255, 255, 0];
    for (let x = Math.round(x0); x <= Math.round(x1); x++) {
      put(x, y0, yellow);
      put(x, y1, yellow);
    }
    for (let y = Math.round(y0); y <= Math.round(y1); y++) {
      put(x0, y, yellow);
      put(x1, y, yellow);
    }
  }
  for (const [x, y, label] of prompts.points ?? []) {
    const c = label === 1 ? [0, 255, 0] : [255, 0, 0];
    for (let d = -3; d <= 3; d++) {
      put(x + d, y, c);
      put(x, y + d, c);
    }
  }
  return { data: out, width: W, height: H };
}
