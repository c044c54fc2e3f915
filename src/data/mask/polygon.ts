// Polygon and box rasterisation exactly as pycocotools' rleFrPoly / rleFrBbox do it (rewritten):
// vertices are scaled by 5 and rounded (C-style truncation of v*5+0.5); pycocotools then walks every
// edge one upsampled step at a time along its longer axis, and each step that crosses the centre of a
// pixel column (upsampled x = 5*col + 2) records where that column's inside starts or ends; sorting
// those column-major boundary positions gives the run lengths. Here only the steps that can cross a
// column centre are evaluated, with the same arithmetic, so the result is identical (property-tested
// against a literal rendering, test/data/mask-polygon-reference.ts) and the work is bounded by
// edges x columns rather than by the outline's length, even for coordinates far outside the image.
import type { Box, Rle } from './types.ts';

const SCALE = 5;
// pycocotools stores scaled vertices in C ints; beyond that range its result is undefined.
const MAX_SCALED = 2 ** 31 - 1;

/** Rasterises one polygon [x0, y0, x1, y1, ...] (an odd trailing value is ignored, as pycocotools does). */
export function rleFromPolygon(xy: ArrayLike<number>, h: number, w: number, where = 'polygon'): Rle {
  const k = Math.floor(xy.length / 2);
  const xs = new Int32Array(k + 1);
  const ys = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) {
    for (let d = 0; d < 2; d++) {
      const v = xy[2 * j + d];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new Error(`${where}[${2 * j + d}]: coordinate must be a finite number, got ${String(v)}`);
      }
      const s = Math.trunc(SCALE * v + 0.5);
      if (Math.abs(s) > MAX_SCALED) {
        throw new Error(`${where}[${2 * j + d}]: coordinate ${v} is too large (|5v| must fit a 32-bit int)`);
      }
      (d === 0 ? xs : ys)[j] = s;
    }
  }
  if (k === 0) return { height: h, width: w, counts: Uint32Array.of(h * w) };
  xs[k] = xs[0];
  ys[k] = ys[0];
  // Only consecutive outline points whose upsampled x differ matter, and only when the smaller x is a
  // pixel column's centre (5*col + 2). Points of different edges meet at a shared vertex (same x), so
  // each edge is handled alone, evaluating just the candidate steps rather than storing every point.
  const bounds: number[] = [];
  const uMax = SCALE * (w - 1) + 2; // centre of the last column
  const record = (minU: number, minV: number): void => {
    const xd = (minU + 0.5) / SCALE - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) return;
    let yd = (minV + 0.5) / SCALE - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    bounds.push(xd * h + Math.ceil(yd));
  };
  for (let j = 0; j < k; j++) {
    let xa = xs[j];
    let xb = xs[j + 1];
    let ya = ys[j];
    let yb = ys[j + 1];
    const dx = Math.abs(xb - xa);
    const dy = Math.abs(ya - yb);
    // pycocotools walks from the lower end so both directions of an edge round the same way.
    if ((dx >= dy && xa > xb) || (dx < dy && ya > yb)) {
      [xa, xb] = [xb, xa];
      [ya, yb] = [yb, ya];
    }
    if (dx >= dy) {
      if (dx === 0) continue; // a repeated vertex: one point, no step
      // x = xa + t moves by one per step; the step {t, t+1} counts when xa + t is a column centre.
      const s = (yb - ya) / dx;
      const lo = Math.max(0, 2 - xa);
      const hi = Math.min(dx - 1, uMax - xa);
      for (let t = lo + ((((2 - xa - lo) % SCALE) + SCALE) % SCALE); t <= hi; t += SCALE) {
        const v0 = Math.trunc(ya + s * t + 0.5);
        const v1 = Math.trunc(ya + s * (t + 1) + 0.5);
        record(xa + t, v0 < v1 ? v0 : v1);
      }
    } else {
      // y = ya + t moves by one per step and x = trunc(xa + s*t + 0.5) by at most one, monotonically
      // (every operation is monotone in t). So each column centre U = 5*col + 2 inside the edge's x
      // span is left exactly once, at the first step reaching U + 1 (rising) or U (falling): estimate
      // that step from the line, then settle it by evaluating the same expression pycocotools uses.
      if (xa === xb) continue; // vertical: x never changes
      const s = (xb - xa) / dy;
      const u = (t: number) => Math.trunc(xa + s * t + 0.5);
      const uLo = Math.min(u(0), u(dy));
      const uHi = Math.max(u(0), u(dy));
      const rising = s > 0;
      const cFirst = Math.max(0, Math.ceil((uLo - 2) / SCALE));
      const cLast = Math.min(w - 1, Math.floor((uHi - 3) / SCALE));
      for (let c = cFirst; c <= cLast; c++) {
        const U = SCALE * c + 2;
        // reached(q): the outline point q is already past the column centre.
        const reached = rising ? (q: number) => u(q) >= U + 1 : (q: number) => u(q) <= U;
        let q = Math.min(dy, Math.max(1, Math.ceil((U + 0.5 - xa) / s)));
        if (reached(q)) while (q > 1 && reached(q - 1)) q--;
        else while (!reached(q)) q++;
        record(U, ya + q - 1);
      }
    }
  }

  // Boundaries -> run lengths: sort, add the end, take differences, and fold away empty runs.
  const a = new Float64Array(bounds.length + 1);
  for (let i = 0; i < bounds.length; i++) a[i] = bounds[i];
  a[bounds.length] = h * w;
  a.sort();
  let p = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= p;
    p = t;
  }
  const runs: number[] = [a[0]];
  for (let j = 1; j < a.length;) {
    if (a[j] > 0) runs.push(a[j++]);
    else {
      j++;
      if (j < a.length) runs[runs.length - 1] += a[j++];
    }
  }
  return { height: h, width: w, counts: Uint32Array.from(runs) };
}

/** Rasterises a box [x, y, w, h] as the polygon of its four corners (pycocotools rleFrBbox). */
export function rleFromBox(box: Box, h: number, w: number, where = 'box'): Rle {
  const [x, y, bw, bh] = box;
  const xe = x + bw;
  const ye = y + bh;
  return rleFromPolygon([x, y, x, ye, xe, ye, xe, y], h, w, where);
}
