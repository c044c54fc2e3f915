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
  const recThrs = Float64Array.from(p.recThrs);
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scores = new Float64Array(T * R * K * A * M).fill(-1);
  const pIndex = (t: number, r: number, k: number, a: number, m: number) =>
    (((t * R + r) * K + k) * A + a) * M + m;

  for (let k = 0; k < K; k++) {
    // Which images take part does not depend on the area range (evaluateImg is null only without any
    // gt or dt), and neither do their detections: pool and sort once per maxDets, reuse for every range.
    const present: number[] = [];
    for (let i = 0; i < I; i++) if (ev.evalImgs[k * A * I + i]) present.push(i);
    if (present.length === 0) continue;
    for (let m = 0; m < M; m++) {
      const maxDet = p.maxDets[m];
      let nd = 0;
      for (const i of present) nd += Math.min(maxDet, ev.evalImgs[k * A * I + i]!.dtScores.length);
      const owner = new Uint32Array(nd); // index into `present`
      const pos = new Uint32Array(nd); // position in that image's sorted detections
      const sc = new Float64Array(nd);
      let n = 0;
      present.forEach((i, ei) => {
        const s = ev.evalImgs[k * A * I + i]!.dtScores;
        const take = Math.min(maxDet, s.length);
        for (let j = 0; j < take; j++, n++) {
          owner[n] = ei;
          pos[n] = j;
          sc[n] = s[j];
        }
      });
      // np.argsort(-scores, kind='mergesort'): descending, ties in pool order.
      const order = new Uint32Array(nd);
      for (let j = 0; j < nd; j++) order[j] = j;
      order.sort((x, y) => sc[y] - sc[x] || x - y);
      const ownerS = new Uint32Array(nd);
      const posS = new Uint32Array(nd);
      const scS = new Float64Array(nd);
      for (let j = 0; j < nd; j++) {
        ownerS[j] = owner[order[j]];
        posS[j] = pos[order[j]];
        scS[j] = sc[order[j]];
      }
      const rc = new Float64Array(nd);
      const pr = new Float64Array(nd);
      for (let a = 0; a < A; a++) {
        const E: ImageEval[] = present.map((i) => ev.evalImgs[k * A * I + a * I + i]!);
        let npig = 0;
        for (const e of E) npig += e.numGt;
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          for (let j = 0; j < nd; j++) {
            const e = E[ownerS[j]];
            const at = t * e.dtScores.length + posS[j];
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
            while (j < nd && rc[j] < recThrs[r]) j++;
            const at = pIndex(t, r, k, a, m);
            precision[at] = j < nd ? pr[j] : 0;
            scores[at] = j < nd ? scS[j] : 0;
          }
        }
      }
    }
  }
  return { params: p, precision, recall, scores };
}
