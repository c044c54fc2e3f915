// COCOeval.accumulate(): per category, area range and maxDets, pool the images' detections (each
// image's top maxDet), sort them by score (stable), and turn cumulative true/false positives into a
// precision-recall curve read at the 101 recall thresholds.
import { FP, TP, type Evaluated, type ImageEval } from './evaluate.ts';
import { SPACING_1 } from './numpy.ts';
import { stableOrderDesc } from './stable-order.ts';
import type { Accumulated } from './types.ts';

/**
 * Outcome of every pooled detection at every IoU threshold for area range `a`, in score order:
 * flags[t * nd + j]. `rank[n]` is the sorted position of the n-th detection in pool order.
 */
function fillFlags(
  E: ImageEval[],
  a: number,
  T: number,
  maxDet: number,
  rank: Uint32Array,
  flags: Uint8Array,
): void {
  const nd = rank.length;
  let n = 0;
  for (const e of E) {
    const D = e.dtScores.length;
    const take = Math.min(maxDet, D);
    const base = a * T * D;
    for (let j = 0; j < take; j++, n++) {
      const sp = rank[n];
      for (let t = 0; t < T; t++) flags[t * nd + sp] = e.outcome[base + t * D + j];
    }
  }
}

/** Recall and precision after each detection of one threshold's row (COCOeval's rc and pr). */
function curve(
  flags: Uint8Array,
  off: number,
  nd: number,
  npig: number,
  rc: Float64Array,
  pr: Float64Array,
): void {
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < nd; j++) {
    const f = flags[off + j];
    if (f === TP) tp++;
    else if (f === FP) fp++;
    rc[j] = tp / npig;
    pr[j] = tp / (fp + tp + SPACING_1);
  }
}

/** Copies the (k, mFrom) entries of precision, scores and recall to (k, mTo). */
function copyMaxDets(
  precision: Float64Array,
  recall: Float64Array,
  scores: Float64Array,
  [T, R, K, A, M]: number[],
  k: number,
  mFrom: number,
  mTo: number,
): void {
  for (let t = 0; t < T; t++) {
    for (let a = 0; a < A; a++) {
      const at = ((t * K + k) * A + a) * M;
      recall[at + mTo] = recall[at + mFrom];
      for (let r = 0; r < R; r++) {
        const pt = (((t * R + r) * K + k) * A + a) * M;
        precision[pt + mTo] = precision[pt + mFrom];
        scores[pt + mTo] = scores[pt + mFrom];
      }
    }
  }
}

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

  for (let k = 0; k < K; k++) {
    // The images taking part and their detections are the same for every area range: pool and sort
    // once per maxDets, reuse for every range.
    const E: ImageEval[] = [];
    for (let i = 0; i < I; i++) {
      const e = ev.evalImgs[k * I + i];
      if (e) E.push(e);
    }
    if (E.length === 0) continue;
    let mostDets = 0;
    for (const e of E) mostDets = Math.max(mostDets, e.dtScores.length);
    for (let m = 0; m < M; m++) {
      const maxDet = p.maxDets[m];
      // No image has more detections of this category than the previous (smaller) maxDets keeps:
      // the pool, hence every number, is the same as for that one.
      if (m > 0 && mostDets <= p.maxDets[m - 1]) {
        copyMaxDets(precision, recall, scores, [T, R, K, A, M], k, m - 1, m);
        continue;
      }
      let nd = 0;
      for (const e of E) nd += Math.min(maxDet, e.dtScores.length);
      const sc = new Float64Array(nd);
      let n = 0;
      for (const e of E) {
        const take = Math.min(maxDet, e.dtScores.length);
        for (let j = 0; j < take; j++) sc[n++] = e.dtScores[j];
      }
      // np.argsort(-scores, kind='mergesort'): descending, ties in pool order.
      const order = stableOrderDesc(sc);
      const rank = new Uint32Array(nd);
      const scS = new Float64Array(nd);
      for (let j = 0; j < nd; j++) {
        rank[order[j]] = j;
        scS[j] = sc[order[j]];
      }
      const flags = new Uint8Array(T * nd);
      const rc = new Float64Array(nd);
      const pr = new Float64Array(nd);
      for (let a = 0; a < A; a++) {
        let npig = 0;
        for (const e of E) npig += e.numGt[a];
        if (npig === 0) continue;
        fillFlags(E, a, T, maxDet, rank, flags);
        for (let t = 0; t < T; t++) {
          curve(flags, t * nd, nd, npig, rc, pr);
          recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
          // Make precision non-increasing from the right (the interpolated envelope).
          for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // np.searchsorted(rc, recThrs, side='left'); recall points past the last detection give 0.
          let j = 0;
          for (let r = 0; r < R; r++) {
            while (j < nd && rc[j] < recThrs[r]) j++;
            const at = (((t * R + r) * K + k) * A + a) * M + m;
            precision[at] = j < nd ? pr[j] : 0;
            scores[at] = j < nd ? scS[j] : 0;
          }
        }
      }
    }
  }
  return { params: p, precision, recall, scores };
}
