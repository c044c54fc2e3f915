// IoU matrices with COCO's crowd rule (pycocotools bbIou / rleIou, rewritten): for a crowd ground
// truth the denominator is the detection's own area, so a crowd region can absorb detections.
// Matrices are row-major [numDt][numGt].
import { rleIntersectUnion, rleToBbox } from './rle.ts';
import type { Box, Rle } from './types.ts';

/** Box IoU matrix (Float64Array [dt.length * gt.length], row-major by detection). */
export function boxIou(
  dt: ArrayLike<Box>,
  gt: ArrayLike<Box>,
  iscrowd: ArrayLike<boolean | number>,
): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const o = new Float64Array(m * n);
  for (let g = 0; g < n; g++) {
    const G = gt[g];
    const ga = G[2] * G[3];
    const crowd = Boolean(iscrowd[g]);
    for (let d = 0; d < m; d++) {
      const D = dt[d];
      const da = D[2] * D[3];
      // Same operation order as the C code so results agree to the last bit.
      const iw = Math.min(D[2] + D[0], G[2] + G[0]) - Math.max(D[0], G[0]);
      if (iw <= 0) continue;
      const ih = Math.min(D[3] + D[1], G[3] + G[1]) - Math.max(D[1], G[1]);
      if (ih <= 0) continue;
      const i = iw * ih;
      const u = crowd ? da : da + ga - i;
      o[d * n + g] = i / u;
    }
  }
  return o;
}

/**
 * Mask IoU matrix. Pairs whose boxes do not overlap are 0 without touching the runs; pairs of
 * different sizes are -1 (as pycocotools reports them). Boxes may be passed in when already known.
 */
export function rleIou(
  dt: ArrayLike<Rle>,
  gt: ArrayLike<Rle>,
  iscrowd: ArrayLike<boolean | number>,
  dtBoxes?: ArrayLike<Box>,
  gtBoxes?: ArrayLike<Box>,
): Float64Array {
  const m = dt.length;
  const n = gt.length;
  const db = dtBoxes ?? Array.from(dt, rleToBbox);
  const gb = gtBoxes ?? Array.from(gt, rleToBbox);
  const o = boxIou(db, gb, iscrowd);
  for (let d = 0; d < m; d++) {
    for (let g = 0; g < n; g++) {
      const k = d * n + g;
      if (!(o[k] > 0)) continue;
      const D = dt[d];
      const G = gt[g];
      if (D.height !== G.height || D.width !== G.width) {
        o[k] = -1;
        continue;
      }
      const [i, u] = rleIntersectUnion(D.counts, G.counts);
      o[k] = i / (iscrowd[g] ? areaOf(D) : u);
    }
  }
  return o;
}

function areaOf(r: Rle): number {
  let a = 0;
  for (let j = 1; j < r.counts.length; j += 2) a += r.counts[j];
  return a;
}
