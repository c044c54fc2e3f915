// COCOeval.summarize(): the 12 standard numbers, the familiar printed lines, and per-category AP.
import { formatFixed3, npMean } from './numpy.ts';
import { STAT_KEYS, type Accumulated, type Stats } from './types.ts';

interface StatSpec {
  ap: boolean;
  iouThr?: number;
  area: string;
  maxDets: number;
}

const SPECS: StatSpec[] = [
  { ap: true, area: 'all', maxDets: 100 },
  { ap: true, iouThr: 0.5, area: 'all', maxDets: 100 },
  { ap: true, iouThr: 0.75, area: 'all', maxDets: 100 },
  { ap: true, area: 'small', maxDets: 100 },
  { ap: true, area: 'medium', maxDets: 100 },
  { ap: true, area: 'large', maxDets: 100 },
  { ap: false, area: 'all', maxDets: 1 },
  { ap: false, area: 'all', maxDets: 10 },
  { ap: false, area: 'all', maxDets: 100 },
  { ap: false, area: 'small', maxDets: 100 },
  { ap: false, area: 'medium', maxDets: 100 },
  { ap: false, area: 'large', maxDets: 100 },
];

/** Mean of the entries > -1 in C order, or -1 when there are none (np.mean(s[s > -1])). */
function meanDefined(values: number[]): number {
  const kept = values.filter((v) => v > -1);
  return kept.length === 0 ? -1 : npMean(kept);
}

function summarizeOne(acc: Accumulated, s: StatSpec, onlyCategory?: number): number {
  const p = acc.params;
  const T = p.iouThrs.length;
  const R = p.recThrs.length;
  const K = p.catIds.length;
  const A = p.areaRng.length;
  const M = p.maxDets.length;
  const a = p.areaRngLbl.indexOf(s.area);
  const m = p.maxDets.indexOf(s.maxDets);
  if (a < 0 || m < 0) return -1;
  // np.where(iouThr == p.iouThrs): an exact comparison, as in pycocotools.
  const ts = [...Array(T).keys()].filter((t) => s.iouThr === undefined || p.iouThrs[t] === s.iouThr);
  const ks = onlyCategory === undefined ? [...Array(K).keys()] : [onlyCategory];
  const values: number[] = [];
  for (const t of ts) {
    if (s.ap) {
      for (let r = 0; r < R; r++) {
        for (const k of ks) values.push(acc.precision[(((t * R + r) * K + k) * A + a) * M + m]);
      }
    } else {
      for (const k of ks) values.push(acc.recall[((t * K + k) * A + a) * M + m]);
    }
  }
  return meanDefined(values);
}

export function computeStats(acc: Accumulated): Stats {
  const out = {} as Stats;
  SPECS.forEach((s, i) => (out[STAT_KEYS[i]] = summarizeOne(acc, s)));
  return out;
}

/** The 12 lines pycocotools prints, e.g. " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.373". */
export function summaryLines(acc: Accumulated, stats: Stats): string[] {
  const p = acc.params;
  const f2 = (x: number) => x.toFixed(2);
  return SPECS.map((s, i) => {
    const title = (s.ap ? 'Average Precision' : 'Average Recall').padEnd(18);
    const kind = s.ap ? '(AP)' : '(AR)';
    const iou = (
      s.iouThr === undefined ? `${f2(p.iouThrs[0])}:${f2(p.iouThrs[p.iouThrs.length - 1])}` : f2(s.iouThr)
    ).padEnd(9);
    const area = s.area.padStart(6);
    const md = String(s.maxDets).padStart(3);
    return ` ${title} ${kind} @[ IoU=${iou} | area=${area} | maxDets=${md} ] = ${formatFixed3(stats[STAT_KEYS[i]])}`;
  });
}

export interface CategoryResult {
  categoryId: number;
  /** AP @[.5:.95], AP50, AP75 (all areas, 100 detections); -1 when the category has no ground truth. */
  AP: number;
  AP50: number;
  AP75: number;
  /** AR @[.5:.95] with 100 detections. */
  AR100: number;
}

export function perCategory(acc: Accumulated): CategoryResult[] {
  return acc.params.catIds.map((categoryId, k) => ({
    categoryId,
    AP: summarizeOne(acc, SPECS[0], k),
    AP50: summarizeOne(acc, SPECS[1], k),
    AP75: summarizeOne(acc, SPECS[2], k),
    AR100: summarizeOne(acc, SPECS[8], k),
  }));
}
