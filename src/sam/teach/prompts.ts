// SAM's training prompts drawn from a ground-truth mask (Segment Anything, section 3 / appendix A): a point
// uniform inside the mask, the mask's box with noise (std 10% of the side, at most 20 px), or a few points
// inside the mask. Coordinates are in the image's pixel frame: a point is a pixel centre (col + 0.5,
// row + 0.5), a box is [x0, y0, x1, y1] with x1 = last column + 1, as the weak-label data uses them.
import type { Rng } from '../../data/synth/rng.ts';

export type PromptKind = 'point' | 'box' | 'points';

export interface MaskPrompt {
  kind: PromptKind;
  /** point: one [x, y]; points: several; box: none. */
  points: [number, number][];
  /** box: [x0, y0, x1, y1]. */
  box: [number, number, number, number] | null;
}

/** Pixel-centre coordinates of the k-th foreground pixel (row-major) of an H x W mask. */
function kthPixel(mask: Uint8Array, width: number, k: number): [number, number] {
  let seen = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    if (seen === k) return [(i % width) + 0.5, Math.floor(i / width) + 0.5];
    seen++;
  }
  throw new Error(`kthPixel: mask has ${seen} pixels, asked for #${k}`);
}

export function maskArea(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i] !== 0 ? 1 : 0;
  return n;
}

/** Tight box [x0, y0, x1, y1] (exclusive right/bottom edges) of a non-empty mask. */
export function maskBox(mask: Uint8Array, width: number): [number, number, number, number] {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] === 0) continue;
    const x = i % width;
    const y = Math.floor(i / width);
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  if (x0 === Infinity) throw new Error('maskBox: empty mask');
  return [x0, y0, x1 + 1, y1 + 1];
}

/** Uniform random point(s) inside the mask. */
export function samplePoints(mask: Uint8Array, width: number, n: number, rng: Rng): [number, number][] {
  const area = maskArea(mask);
  if (area === 0) throw new Error('samplePoints: empty mask');
  return Array.from({ length: n }, () => kthPixel(mask, width, rng.int(0, area - 1)));
}

/** A standard normal draw (Box-Muller). */
function gaussian(rng: Rng): number {
  const u = Math.max(rng.float(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.float());
}

/**
 * The mask's box with SAM's noise: each coordinate moves by N(0, (0.1 * side)^2), clipped to 20 px, then
 * to the image. The box stays non-degenerate (at least 1 px wide and tall).
 */
export function noisyBox(
  mask: Uint8Array,
  width: number,
  height: number,
  rng: Rng,
  noise = 0.1,
  maxShift = 20,
): [number, number, number, number] {
  const [x0, y0, x1, y1] = maskBox(mask, width);
  const w = x1 - x0;
  const h = y1 - y0;
  const jitter = (side: number): number =>
    Math.max(-maxShift, Math.min(maxShift, gaussian(rng) * noise * side));
  let nx0 = Math.min(Math.max(0, x0 + jitter(w)), width - 1);
  let ny0 = Math.min(Math.max(0, y0 + jitter(h)), height - 1);
  let nx1 = Math.min(Math.max(0, x1 + jitter(w)), width);
  let ny1 = Math.min(Math.max(0, y1 + jitter(h)), height);
  if (nx1 < nx0 + 1) [nx0, nx1] = [Math.max(0, nx1 - 1), Math.max(nx1, nx0 + 1)];
  if (ny1 < ny0 + 1) [ny0, ny1] = [Math.max(0, ny1 - 1), Math.max(ny1, ny0 + 1)];
  return [nx0, ny0, nx1, ny1];
}

export interface PromptMix {
  /** Probabilities of a single point and of a box; the rest are multi-point prompts. */
  point: number;
  box: number;
  /** Points in a multi-point prompt. */
  multiPoints: number;
}

export const DEFAULT_PROMPT_MIX: PromptMix = { point: 0.5, box: 0.35, multiPoints: 3 };

/** One prompt for a mask, its kind drawn from the mix. */
export function samplePrompt(
  mask: Uint8Array,
  width: number,
  height: number,
  rng: Rng,
  mix: PromptMix = DEFAULT_PROMPT_MIX,
): MaskPrompt {
  const u = rng.float();
  if (u < mix.point) return { kind: 'point', points: samplePoints(mask, width, 1, rng), box: null };
  if (u < mix.point + mix.box) return { kind: 'box', points: [], box: noisyBox(mask, width, height, rng) };
  return { kind: 'points', points: samplePoints(mask, width, mix.multiPoints, rng), box: null };
}
