// A deliberately plain, line-by-line rendering of pycocotools' evaluateImg/accumulate/summarize
// (box IoU only), used to cross-check the optimised evaluator on random cases. No shortcuts: every
// (category, area, maxDets) pools and sorts on its own, as the Python code does.
import { boxIou, type Box } from '../../src/data/mask/index.ts';
import { npMean, SPACING_1, linspace } from '../../src/eval/numpy.ts';

export interface NaiveGt {
  id: number;
  image_id: number;
  category_id: number;
  bbox: Box;
  area: number;
  iscrowd: number;
}
export interface NaiveDt {
  id: number;
  image_id: number;
  category_id: number;
  bbox: Box;
  area: number;
  score: number;
}

const stableDesc = <T>(xs: T[], key: (x: T) => number) =>
  xs
    .map((x, i) => [x, i] as const)
    .sort((a, b) => key(b[0]) - key(a[0]) || a[1] - b[1])
    .map(([x]) => x);

export function naiveStats(imgIds: number[], catIds: number[], gts: NaiveGt[], dts: NaiveDt[]): number[] {
  const iouThrs = linspace(0.5, 0.95, 10);
  const recThrs = linspace(0, 1, 101);
  const areaRng: [number, number][] = [
    [0, 1e10],
    [0, 1024],
    [1024, 9216],
    [9216, 1e10],
  ];
  const maxDets = [1, 10, 100];
  const T = 10;
  const R = 101;
  const K = catIds.length;
  const A = 4;
  const M = 3;
  type E = { dtScores: number[]; dtm: number[][]; dtIg: boolean[][]; gtIg: boolean[] } | null;
  const evalImgs: E[] = [];
  for (const catId of catIds)
    for (const aRng of areaRng)
      for (const imgId of imgIds) {
        let gt = gts.filter((g) => g.image_id === imgId && g.category_id === catId);
        let dt = dts.filter((d) => d.image_id === imgId && d.category_id === catId);
        if (gt.length === 0 && dt.length === 0) {
          evalImgs.push(null);
          continue;
        }
        dt = stableDesc(dt, (d) => d.score).slice(0, 100);
        const iouRaw = boxIou(
          dt.map((d) => d.bbox),
          gt.map((g) => g.bbox),
          gt.map((g) => g.iscrowd),
        );
        const ig = gt.map((g) => (g.iscrowd || g.area < aRng[0] || g.area > aRng[1] ? 1 : 0));
        const gtind = gt.map((_, i) => i).sort((a, b) => ig[a] - ig[b] || a - b);
        gt = gtind.map((i) => gt[i]);
        const gtIg = gtind.map((i) => ig[i] === 1);
        const ious = (d: number, g: number) => iouRaw[d * gtind.length + gtind[g]];
        const gtm = iouThrs.map(() => gt.map(() => 0));
        const dtm = iouThrs.map(() => dt.map(() => 0));
        const dtIg = iouThrs.map(() => dt.map(() => false));
        if (dt.length > 0 && gt.length > 0) {
          iouThrs.forEach((t, ti) => {
            dt.forEach((d, di) => {
              let iou = Math.min(t, 1 - 1e-10);
              let m = -1;
              for (let gi = 0; gi < gt.length; gi++) {
                if (gtm[ti][gi] > 0 && !gt[gi].iscrowd) continue;
                if (m > -1 && !gtIg[m] && gtIg[gi]) break;
                if (ious(di, gi) < iou) continue;
                iou = ious(di, gi);
                m = gi;
              }
              if (m === -1) return;
              dtIg[ti][di] = gtIg[m];
              dtm[ti][di] = gt[m].id;
              gtm[ti][m] = d.id;
            });
          });
        }
        dt.forEach((d, di) => {
          const out = d.area < aRng[0] || d.area > aRng[1];
          for (let ti = 0; ti < T; ti++) dtIg[ti][di] = dtIg[ti][di] || (dtm[ti][di] === 0 && out);
        });
        evalImgs.push({ dtScores: dt.map((d) => d.score), dtm, dtIg, gtIg });
      }
  const I = imgIds.length;
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++)
    for (let a = 0; a < A; a++)
      for (let m = 0; m < M; m++) {
        const E = imgIds.map((_, i) => evalImgs[k * A * I + a * I + i]).filter((e) => e !== null);
        if (E.length === 0) continue;
        const pooled = E.flatMap((e) => e!.dtScores.slice(0, maxDets[m]).map((s, j) => ({ s, e: e!, j })));
        const sorted = stableDesc(pooled, (x) => x.s);
        const npig = E.reduce((n, e) => n + e!.gtIg.filter((g) => !g).length, 0);
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          const rc: number[] = [];
          const pr: number[] = [];
          for (const x of sorted) {
            const matched = x.e.dtm[t][x.j] !== 0;
            const ign = x.e.dtIg[t][x.j];
            if (matched && !ign) tp++;
            if (!matched && !ign) fp++;
            rc.push(tp / npig);
            pr.push(tp / (fp + tp + SPACING_1));
          }
          const nd = rc.length;
          recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          for (let r = 0; r < R; r++) {
            let idx = 0;
            while (idx < nd && rc[idx] < recThrs[r]) idx++;
            precision[(((t * R + r) * K + k) * A + a) * M + m] = idx < nd ? pr[idx] : 0;
          }
        }
      }
  const summ = (ap: boolean, iouThr: number | undefined, a: number, m: number) => {
    const vals: number[] = [];
    for (let t = 0; t < T; t++) {
      if (iouThr !== undefined && iouThrs[t] !== iouThr) continue;
      if (ap) {
        for (let r = 0; r < R; r++)
          for (let k = 0; k < K; k++) vals.push(precision[(((t * R + r) * K + k) * A + a) * M + m]);
      } else for (let k = 0; k < K; k++) vals.push(recall[((t * K + k) * A + a) * M + m]);
    }
    const kept = vals.filter((v) => v > -1);
    return kept.length ? npMean(kept) : -1;
  };
  return [
    summ(true, undefined, 0, 2),
    summ(true, 0.5, 0, 2),
    summ(true, 0.75, 0, 2),
    summ(true, undefined, 1, 2),
    summ(true, undefined, 2, 2),
    summ(true, undefined, 3, 2),
    summ(false, undefined, 0, 0),
    summ(false, undefined, 0, 1),
    summ(false, undefined, 0, 2),
    summ(false, undefined, 1, 2),
    summ(false, undefined, 2, 2),
    summ(false, undefined, 3, 2),
  ];
}
