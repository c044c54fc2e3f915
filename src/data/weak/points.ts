// One click per instance, inside its mask. Convention: a point [x, y] is a pixel centre,
// x = column + 0.5, y = row + 0.5, so pixel (row, col) = (floor(y), floor(x)) is in the mask.
import { rleArea, rleDecode, type Rle } from '../mask/index.ts';
import { randInt, type Rng } from './rng.ts';

export const POINT_STRATEGIES = ['uniform', 'center'] as const;
export type PointStrategy = (typeof POINT_STRATEGIES)[number];

/**
 * 'uniform': a pixel drawn uniformly among the mask's pixels (an annotator's click anywhere inside
 * the object, the paper's protocol). 'center': the mask pixel farthest from the background
 * (Euclidean distance transform; ties: nearest the mask's centroid, then first in row-major order);
 * deterministic, uses no randomness. Returns null for an empty mask.
 */
export function pointInMask(rle: Rle, strategy: PointStrategy, rng: Rng): [number, number] | null {
  const n = rleArea(rle);
  if (n === 0) return null;
  return strategy === 'uniform' ? uniformPoint(rle, randInt(rng, 0, n - 1)) : centerPoint(rle);
}

/** The k-th foreground pixel in RLE (column-major) order, found by walking the runs, no decode. */
function uniformPoint(rle: Rle, k: number): [number, number] {
  const c = rle.counts;
  let pos = 0;
  for (let j = 0; j < c.length; j++) {
    if (j % 2 === 1) {
      if (k < c[j]) {
        const p = pos + k;
        const col = Math.floor(p / rle.height);
        return [col + 0.5, p - col * rle.height + 0.5];
      }
      k -= c[j];
    }
    pos += c[j];
  }
  throw new Error('unreachable: k is below the mask area');
}

function centerPoint(rle: Rle): [number, number] {
  const { height: h, width: w, data } = rleDecode(rle);
  const d2 = squaredDistanceToBackground(data, h, w);
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (let i = 0; i < h * w; i++)
    if (data[i]) {
      cx += i % w;
      cy += Math.floor(i / w);
      n++;
    }
  cx /= n;
  cy /= n;
  let best = -1;
  let bestD = -1;
  let bestC = Infinity;
  for (let i = 0; i < h * w; i++) {
    if (!data[i]) continue;
    const x = i % w;
    const y = (i - x) / w;
    const c = (x - cx) ** 2 + (y - cy) ** 2;
    if (d2[i] > bestD || (d2[i] === bestD && c < bestC)) {
      best = i;
      bestD = d2[i];
      bestC = c;
    }
  }
  const x = best % w;
  return [x + 0.5, (best - x) / w + 0.5];
}

/**
 * Squared Euclidean distance of each pixel to the nearest background pixel, where everything
 * outside the image counts as background (so a mask touching the border is thin there).
 * Felzenszwalb & Huttenlocher's separable lower-envelope algorithm, on a 1-pixel padded grid.
 * Shapes: mask [h*w] row-major -> Float64Array [h*w].
 */
export function squaredDistanceToBackground(mask: Uint8Array, h: number, w: number): Float64Array {
  const H = h + 2;
  const W = w + 2;
  const INF = 1e20;
  const g = new Float64Array(H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const inside = y > 0 && y <= h && x > 0 && x <= w && mask[(y - 1) * w + (x - 1)] !== 0;
      g[y * W + x] = inside ? INF : 0;
    }
  const n = Math.max(H, W);
  const f = new Float64Array(n);
  const out = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < W; x++) {
    for (let y = 0; y < H; y++) f[y] = g[y * W + x];
    edt1d(f, H, out, v, z);
    for (let y = 0; y < H; y++) g[y * W + x] = out[y];
  }
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) f[x] = g[y * W + x];
    edt1d(f, W, out, v, z);
    for (let x = 0; x < W; x++) g[y * W + x] = out[x];
  }
  const res = new Float64Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) res[y * w + x] = g[(y + 1) * W + (x + 1)];
  return res;
}

// 1-D squared distance transform of sampled function f (lower envelope of parabolas).
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) ** 2 + f[v[k]];
  }
}
