// PIL's Image.resize(size, BILINEAR) on 8-bit RGB, reproduced bit for bit (SAM's official preprocessing
// resizes with PIL; no library here does PIL's fixed-point arithmetic, so it is written out).
//
// PIL (libImaging/Resample.c) resamples separably: a horizontal pass into an 8-bit temporary image, then
// a vertical pass. Per output index i along an axis of in -> out samples:
//   scale = in / out, filterscale = max(1, scale)   (shrinking widens the triangle: antialiasing)
//   support = 1 * filterscale, centre = (i + 0.5) * scale
//   xmin = max(0, trunc(centre - support + 0.5)), xmax = min(in, trunc(centre + support + 0.5))
//   w[x] = tri((x + xmin - centre + 0.5) / filterscale), normalised to sum 1 (in float64),
//   then fixed point: round-half-away(w * 2^22) as int32.
// Each output value is clamp((2^21 + sum src * w) >> 22, 0, 255).
import type { RgbImage } from '../data/image/types.ts';

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

export interface AxisCoeffs {
  /** Taps per output sample (fixed stride into `weights`). */
  ksize: number;
  /** First source index per output sample. */
  start: Int32Array;
  /** Number of taps used per output sample. */
  count: Int32Array;
  /** Fixed-point weights, out * ksize. */
  weights: Int32Array;
}

const triangle = (x: number): number => {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
};

/** PIL's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter. */
export function bilinearCoeffs(inSize: number, outSize: number): AxisCoeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(1, scale);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(centre - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(centre + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = triangle((x + xmin - centre + 0.5) * ss);
      sum += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = sum !== 0 ? w[x] / sum : w[x];
      // C's (int) truncates toward zero after the +-0.5: round half away from zero.
      weights[i * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
    }
    start[i] = xmin;
    count[i] = Math.max(0, xmax);
  }
  return { ksize, start, count, weights };
}

const clip8 = (acc: number): number => {
  // acc >> 22 with floor semantics (acc fits in int32 for non-negative weights, but stay exact in doubles).
  const v = Math.floor(acc / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

/** Horizontal pass: src (h x inW x c) -> (h x outW x c). */
function resampleRows(src: Uint8Array, h: number, inW: number, outW: number, c: number): Uint8Array {
  const { ksize, start, count, weights } = bilinearCoeffs(inW, outW);
  const out = new Uint8Array(h * outW * c);
  for (let y = 0; y < h; y++) {
    const row = y * inW * c;
    for (let i = 0; i < outW; i++) {
      const k0 = i * ksize;
      const s0 = row + start[i] * c;
      const n = count[i];
      for (let ch = 0; ch < c; ch++) {
        let acc = HALF;
        for (let x = 0; x < n; x++) acc += src[s0 + x * c + ch] * weights[k0 + x];
        out[(y * outW + i) * c + ch] = clip8(acc);
      }
    }
  }
  return out;
}

/** Vertical pass: src (inH x w x c) -> (outH x w x c). */
function resampleCols(src: Uint8Array, w: number, inH: number, outH: number, c: number): Uint8Array {
  const { ksize, start, count, weights } = bilinearCoeffs(inH, outH);
  const out = new Uint8Array(outH * w * c);
  const rowLen = w * c;
  for (let j = 0; j < outH; j++) {
    const k0 = j * ksize;
    const n = count[j];
    const base = start[j] * rowLen;
    const o = j * rowLen;
    for (let p = 0; p < rowLen; p++) {
      let acc = HALF;
      for (let y = 0; y < n; y++) acc += src[base + y * rowLen + p] * weights[k0 + y];
      out[o + p] = clip8(acc);
    }
  }
  return out;
}

/**
 * Resizes an RGB uint8 image to width x height exactly as PIL 9's Image.resize(..., Image.BILINEAR)
 * (no box, no reducing_gap). A pass whose size does not change is skipped, as PIL does.
 */
export function pilResizeBilinear(img: RgbImage, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0)
    throw new Error(`pilResizeBilinear: target size must be positive integers, got ${width}x${height}`);
  if (img.data.length !== img.width * img.height * 3)
    throw new Error(
      `pilResizeBilinear: image buffer has ${img.data.length} bytes, expected ${img.height}x${img.width}x3`,
    );
  let data = img.data;
  if (width !== img.width) data = resampleRows(data, img.height, img.width, width, 3);
  if (height !== img.height) data = resampleCols(data, width, img.height, height, 3);
  if (data === img.data) data = data.slice();
  return { data, width, height };
}
