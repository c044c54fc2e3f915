// The literal rendering of pycocotools' rleFrPoly (every upsampled outline point stored, then scanned),
// kept as the reference the faster src/data/mask/polygon.ts is property-tested against.
// Polygon rasterisation exactly as pycocotools' rleFrPoly does it (rewritten):
// vertices are scaled by 5 and rounded (C-style truncation of v*5+0.5), every edge is walked one
// upsampled step at a time along its longer axis, and each step that crosses the centre of a pixel
// column (upsampled x = 5*col + 2) records where that column's inside starts or ends. Sorting those
// column-major boundary positions gives the run lengths directly.
import type { Rle } from '../../src/data/mask/index.ts';

const SCALE = 5;
// pycocotools stores scaled vertices in C ints; beyond that range its result is undefined.
const MAX_SCALED = 2 ** 31 - 1;
// Upsampled boundary points walked for one polygon; bounds the work for absurd coordinates.
const MAX_WALK = 2 ** 24;

// Outline buffers reused across calls (grown on demand).
let scratchU = new Int32Array(4096);
let scratchV = new Int32Array(4096);

/** Rasterises one polygon [x0, y0, x1, y1, ...] (an odd trailing value is ignored, as pycocotools does). */
export function rleFromPolygonReference(xy: ArrayLike<number>, h: number, w: number, where = 'polygon'): Rle {
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
  let walk = 0;
  for (let j = 0; j < k; j++) walk += Math.max(Math.abs(xs[j] - xs[j + 1]), Math.abs(ys[j] - ys[j + 1])) + 1;
  if (walk > MAX_WALK) {
    throw new Error(
      `${where}: outline is too long to rasterise (${walk} upsampled points, limit ${MAX_WALK})`,
    );
  }

  // Walk the upsampled outline: every point (u, v) of every edge, vertices repeated, into scratch
  // buffers reused across calls.
  if (scratchU.length < walk) {
    scratchU = new Int32Array(Math.max(walk, 2 * scratchU.length));
    scratchV = new Int32Array(scratchU.length);
  }
  const u = scratchU;
  const v = scratchV;
  let n = 0;
  for (let j = 0; j < k; j++) {
    let xa = xs[j];
    let xb = xs[j + 1];
    let ya = ys[j];
    let yb = ys[j + 1];
    const dx = Math.abs(xb - xa);
    const dy = Math.abs(ya - yb);
    // Walk from the lower end so both directions of an edge round the same way, then store in order.
    const flip = (dx >= dy && xa > xb) || (dx < dy && ya > yb);
    if (flip) {
      [xa, xb] = [xb, xa];
      [ya, yb] = [yb, ya];
    }
    if (dx >= dy) {
      const s = (yb - ya) / dx; // NaN for a repeated vertex; its one point never crosses a column
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[n] = t + xa;
        v[n++] = Math.trunc(ya + s * t + 0.5);
      }
    } else {
      const s = (xb - xa) / dy;
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[n] = t + ya;
        u[n++] = Math.trunc(xa + s * t + 0.5);
      }
    }
  }
  // Where the outline crosses a pixel column's centre (upsampled x = 5*col + 2), record the first
  // pixel inside that column as a column-major position.
  const bounds: number[] = [];
  for (let j = 1; j < n; j++) {
    if (u[j] === u[j - 1]) continue;
    let xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
    xd = (xd + 0.5) / SCALE - 0.5;
    if (Math.floor(xd) !== xd || xd < 0 || xd > w - 1) continue;
    let yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
    yd = (yd + 0.5) / SCALE - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    yd = Math.ceil(yd);
    bounds.push(xd * h + yd);
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
