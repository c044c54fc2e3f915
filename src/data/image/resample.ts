// Resampling under an axis-aligned affine map (scale + offset per axis, negative scale = flip).
//
// Coordinates are COCO's continuous ones: pixel i covers [i, i+1), its centre is i + 0.5.
// An axis map sends a source coordinate x to  x' = scale * x + offset.  Output pixel u takes
// the source at the preimage of its centre, x = (u + 0.5 - offset) / scale. Output pixels whose
// centre falls outside the source ([0, size)) are padding.
//
// Images use PIL-style bilinear (a triangle filter, widened by 1/scale when shrinking, so a
// downscale averages instead of aliasing; this is what Mask2Former's PIL resize does). Masks use
// nearest: output pixel u copies source pixel floor(x). Both read the same map, so image, mask,
// points and boxes stay aligned exactly.
import { checkBuffer, checkSize, type RgbImage } from './types.ts';

export interface AxisMap {
  scale: number; // non-zero; negative flips
  offset: number;
}

/** Source pixel read by nearest sampling for each output index, -1 for padding. */
export function nearestTable(map: AxisMap, srcSize: number, dstSize: number): Int32Array {
  checkAxis(map);
  const table = new Int32Array(dstSize);
  for (let u = 0; u < dstSize; u++) {
    const x = (u + 0.5 - map.offset) / map.scale;
    table[u] = x >= 0 && x < srcSize ? Math.floor(x) : -1;
  }
  return table;
}

interface FilterTable {
  start: Int32Array; // first source index of each output's taps; -1 = padding
  count: Int32Array; // taps used
  taps: number; // stride of `weights`
  weights: Float32Array; // dstSize x taps, normalised to sum 1
}

/** Triangle-filter weights for each output index (support widened by 1/|scale| when shrinking). */
function bilinearTable(map: AxisMap, srcSize: number, dstSize: number): FilterTable {
  checkAxis(map);
  const s = Math.abs(map.scale);
  const support = s < 1 ? 1 / s : 1; // in source pixels
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dstSize);
  const count = new Int32Array(dstSize);
  const weights = new Float32Array(dstSize * taps);
  for (let u = 0; u < dstSize; u++) {
    const x = (u + 0.5 - map.offset) / map.scale;
    if (!(x >= 0 && x < srcSize)) {
      start[u] = -1;
      continue;
    }
    const centre = x - 0.5; // in pixel-centre units: source pixel k sits at k
    const lo = Math.max(0, Math.ceil(centre - support));
    const hi = Math.min(srcSize - 1, Math.floor(centre + support));
    let total = 0;
    let n = 0;
    for (let k = lo; k <= hi && n < taps; k++, n++) {
      const w = Math.max(0, 1 - Math.abs(k - centre) / support);
      weights[u * taps + n] = w;
      total += w;
    }
    if (total <= 0) {
      // Happens only at the very border, where all taps but the clamped one fell outside.
      const k = Math.min(srcSize - 1, Math.max(0, Math.round(centre)));
      start[u] = k;
      count[u] = 1;
      weights[u * taps] = 1;
      continue;
    }
    for (let i = 0; i < n; i++) weights[u * taps + i] /= total;
    start[u] = lo;
    count[u] = n;
  }
  return { start, count, taps, weights };
}

function checkAxis(map: AxisMap): void {
  if (!Number.isFinite(map.scale) || map.scale === 0 || !Number.isFinite(map.offset)) {
    throw new Error(`axis map needs a finite non-zero scale and finite offset, got ${JSON.stringify(map)}`);
  }
}

/**
 * Resamples an H x W x C float or byte buffer with separable bilinear filtering.
 * Returns dstH x dstW x C float values; padding pixels get `pad`.
 */
export function resampleBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  mx: AxisMap,
  my: AxisMap,
  dstWidth: number,
  dstHeight: number,
  pad: number,
): Float32Array {
  checkSize(width, height);
  checkSize(dstWidth, dstHeight);
  checkBuffer('resample source', src, width, height, channels);
  const tx = bilinearTable(mx, width, dstWidth);
  const ty = bilinearTable(my, height, dstHeight);
  // Horizontal pass only over the source rows the vertical pass reads.
  let rowLo = height;
  let rowHi = -1;
  for (let v = 0; v < dstHeight; v++) {
    if (ty.start[v] < 0) continue;
    rowLo = Math.min(rowLo, ty.start[v]);
    rowHi = Math.max(rowHi, ty.start[v] + ty.count[v] - 1);
  }
  const out = new Float32Array(dstWidth * dstHeight * channels).fill(pad);
  if (rowHi < 0) return out;
  const rows = rowHi - rowLo + 1;
  const tmp = new Float32Array(rows * dstWidth * channels); // rows x dstW x C
  const { start: xStart, count: xCount, weights: xW, taps: xTaps } = tx;
  for (let r = 0; r < rows; r++) {
    const srcRow = (rowLo + r) * width * channels;
    const tmpRow = r * dstWidth * channels;
    for (let u = 0; u < dstWidth; u++) {
      const s0 = xStart[u];
      if (s0 < 0) continue;
      const n = xCount[u];
      const wOff = u * xTaps;
      if (channels === 3) {
        // RGB, the common case, with the three sums in one pass over the taps (same order per channel).
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let i = 0, p = srcRow + s0 * 3; i < n; i++, p += 3) {
          const w = xW[wOff + i];
          a0 += w * src[p];
          a1 += w * src[p + 1];
          a2 += w * src[p + 2];
        }
        const o = tmpRow + u * 3;
        tmp[o] = a0;
        tmp[o + 1] = a1;
        tmp[o + 2] = a2;
        continue;
      }
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += xW[wOff + i] * src[srcRow + (s0 + i) * channels + c];
        tmp[tmpRow + u * channels + c] = acc;
      }
    }
  }
  // Vertical pass tap by tap over whole rows (contiguous reads); each output still sums its taps in order,
  // in a float64 accumulator as before, so the values are the same.
  const rowLen = dstWidth * channels;
  const acc = new Float64Array(rowLen);
  for (let v = 0; v < dstHeight; v++) {
    const s0 = ty.start[v];
    if (s0 < 0) continue;
    const n = ty.count[v];
    const wOff = v * ty.taps;
    acc.fill(0);
    for (let i = 0; i < n; i++) {
      const w = ty.weights[wOff + i];
      const base = (s0 - rowLo + i) * rowLen;
      for (let j = 0; j < rowLen; j++) acc[j] += w * tmp[base + j];
    }
    const outRow = v * rowLen;
    for (let u = 0; u < dstWidth; u++) {
      if (xStart[u] < 0) continue;
      for (let c = 0, j = u * channels; c < channels; c++, j++) out[outRow + j] = acc[j];
    }
  }
  return out;
}

/** Resamples an RGB image (bilinear); padding pixels get `pad` in every channel. */
export function resampleImage(
  img: RgbImage,
  mx: AxisMap,
  my: AxisMap,
  dstWidth: number,
  dstHeight: number,
  pad = 0,
): RgbImage {
  const f = resampleBilinear(img.data, img.width, img.height, 3, mx, my, dstWidth, dstHeight, pad);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(f[i])));
  return { data, width: dstWidth, height: dstHeight };
}

/** Resamples a binary (or label) mask by nearest; padding is 0. */
export function resampleMask(
  mask: Uint8Array,
  width: number,
  height: number,
  mx: AxisMap,
  my: AxisMap,
  dstWidth: number,
  dstHeight: number,
): Uint8Array {
  checkSize(width, height);
  checkSize(dstWidth, dstHeight);
  checkBuffer('resample mask', mask, width, height, 1);
  const ix = nearestTable(mx, width, dstWidth);
  const iy = nearestTable(my, height, dstHeight);
  const out = new Uint8Array(dstWidth * dstHeight);
  for (let v = 0; v < dstHeight; v++) {
    const y = iy[v];
    if (y < 0) continue;
    const srcRow = y * width;
    const outRow = v * dstWidth;
    for (let u = 0; u < dstWidth; u++) {
      const x = ix[u];
      if (x >= 0) out[outRow + u] = mask[srcRow + x];
    }
  }
  return out;
}
