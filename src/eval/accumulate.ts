// COCOeval.accumulate(): per category, area range and maxDets, pool the images' detections (each
// image's top maxDet), sort them by score (stable), and turn cumulative true/false positives into a
// precision-recall curve read at the 101 recall thresholds.
import type { Evaluated, ImageEval } from './evaluate.ts';
import { SPACING_1 } from './numpy.ts';
import type { Accumulated } from './types.ts';

export function accumulate(ev: Evaluated): Accumulated {
  const p = ev.params;
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const K = p.catIds.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const I = p.imgIds.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const pIndex = (t: number, r: number, k: number, a: number, m: number) =>
    (((t * R + r) * K + k) * A + a) * M + m;

  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E: ImageEval[] = [];
      for (let i = 0; i < I; i++) {
        const e = ev.evalImgs[k * A * I + a * I + i];
        if (e) E.push(e);
      }
      if (E.length === 0) continue;
      let npig = 0;
      for (const e of E) npig += e.numGt;
      for (let m = 0; m < M; m++) {
        const maxDet = p.maxDets[m];
        // Pool (image, position) pairs in image order, then sort by score; ties keep pool order.
        const owner: number[] = [];
        const pos: number[] = [];
        const sc: number[] = [];
        E.forEach((e, ei) => {
          const n = Math.min(maxDet, e.dtScores.length);
          for (let j = 0; j < n; j++) {
            owner.push(ei);
            pos.push(j);
            sc.push(e.dtScores[j]);
          }
        });
        if (npig === 0) continue;
        const nd = sc.length;
        const inds = Array.from({ length: nd }, (_, j) => j).sort((x, y) => sc[y] - sc[x]);
        const rc = new Float64Array(nd);
        const pr = new Float64Array(nd);
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          for (let j = 0; j < nd; j++) {
            const e = E[owner[inds[j]]];
            const at = t * e.dtScores.length + pos[inds[j]];
            if (!e.dtIgnore[at]) {
              if (e.dtMatched[at]) tp++;
              else fp++;
            }
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + SPACING_1);
          }
          recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
          // Make precision non-increasing from the right (the interpolated envelope).
          for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // np.searchsorted(rc, recThrs, side='left'); recall points past the last detection give 0.
          let j = 0;
          for (let r = 0; r < R; r++) {
            while (j < nd && rc[j] < p.recThrs[r]) j++;
            const at = pIndex(t, r, k, a, m);
            if (j < nd) {
              precision[at] = pr[j];
              scores[at] = sc[inds[j]];
            } else {
              precision[at] = 0;
              scores[at] = 0;
            }
          }
        }
      }
    }
  }
  return { params: p, precision, recall, scores };
}
