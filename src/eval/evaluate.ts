// COCOeval.evaluate(): IoUs per (image, category) and greedy matching per area range, with
// pycocotools' exact rules (see ../../../shared/fixtures/coco/README.md for the traps):
//  - detections sorted by score with a stable sort, top maxDets[-1] kept per image and category;
//  - ground truth that is crowd or outside the area range is "ignored" and sorted last (stably);
//  - a detection takes the best IoU >= min(t, 1 - 1e-10) among unmatched ground truth (crowd may be
//    reused); on equal IoU the later ground truth wins; once matched to a regular one it stops at the
//    first ignored one;
//  - a detection matched to ignored ground truth is ignored, as is an unmatched one outside the range.
import { annToRle, boxIou, rleFromBox, rleIou, rleToBbox, type Box, type Rle } from '../data/mask/index.ts';
import type { Detection, EvalGroundTruth, EvalParams } from './types.ts';

/** One ground-truth annotation as the evaluator needs it. */
interface GtItem {
  id: number;
  area: number;
  crowd: boolean;
  box: Box | undefined;
  rle: Rle | undefined;
  /** Tight box of rle (segm only), for the IoU pre-check. */
  maskBox: Box | undefined;
}

/** What accumulate() needs of one detection at one (area range, IoU threshold). */
export const IGNORED = 0;
export const TP = 1;
export const FP = 2;

/**
 * pycocotools' evaluateImg() results for one (image, category) that has any gt or dt, for every area
 * range at once (one record instead of A, to keep the object count low on large datasets).
 */
export interface ImageEval {
  /** Scores of the kept detections, highest first. [D] */
  dtScores: Float64Array;
  /**
   * Outcome per area range, threshold and detection: IGNORED (matched to ignored gt, or unmatched and
   * outside the range), TP (matched; pycocotools tests the gt id for truth, so a gt with id 0 does not
   * count) or FP. [A][T][D]
   */
  outcome: Uint8Array;
  /** Ground truths not ignored, per area range. [A] */
  numGt: Uint32Array;
}

/** evaluate() output: index k*I + i (category-major, as pycocotools orders evalImgs); null without gt and dt. */
export interface Evaluated {
  params: EvalParams;
  evalImgs: (ImageEval | null)[];
}

export type Progress = (done: number, total: number) => void;

function prepareGt(gt: EvalGroundTruth, params: EvalParams): Map<number, GtItem[]> {
  const imgIndex = new Map(params.imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(params.catIds.map((id, k) => [id, k]));
  const images = new Map(gt.images.map((im) => [im.id, im]));
  const K = params.catIds.length;
  const groups = new Map<number, GtItem[]>();
  for (const ann of gt.annotations) {
    const i = imgIndex.get(ann.image_id);
    const k = catIndex.get(ann.category_id);
    if (i === undefined || k === undefined) continue; // pycocotools only loads annotations of listed ids
    const where = `ground truth annotation ${ann.id}`;
    if (typeof ann.area !== 'number' || !Number.isFinite(ann.area)) {
      throw new Error(
        `${where}: area must be a number (it decides small/medium/large), got ${String(ann.area)}`,
      );
    }
    let box: Box | undefined;
    let rle: Rle | undefined;
    if (params.iouType === 'bbox') {
      const b = ann.bbox;
      if (
        !Array.isArray(b) ||
        b.length !== 4 ||
        !b.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        throw new Error(`${where}: bbox must be 4 finite numbers for bbox evaluation`);
      }
      box = [b[0], b[1], b[2], b[3]];
    } else {
      if (ann.segmentation === undefined)
        throw new Error(`${where}: segmentation is missing for segm evaluation`);
      const img = images.get(ann.image_id)!;
      rle = annToRle(ann.segmentation, img.height, img.width, `${where}: segmentation`);
    }
    const key = i * K + k;
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    const maskBox = rle === undefined ? undefined : rleToBbox(rle);
    list.push({ id: ann.id, area: ann.area, crowd: Boolean(ann.iscrowd), box, rle, maskBox });
  }
  return groups;
}

function groupDetections(dts: Detection[], params: EvalParams): Map<number, Detection[]> {
  const imgIndex = new Map(params.imgIds.map((id, i) => [id, i]));
  const catIndex = new Map(params.catIds.map((id, k) => [id, k]));
  const K = params.catIds.length;
  const groups = new Map<number, Detection[]>();
  for (const d of dts) {
    const i = imgIndex.get(d.image_id);
    const k = catIndex.get(d.category_id);
    if (i === undefined || k === undefined) continue;
    const key = i * K + k;
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(d);
  }
  return groups;
}

/** Stable sort by descending score (np.argsort(-scores, kind='mergesort')), cut to maxDet. */
function topByScore(dts: Detection[], maxDet: number): Detection[] {
  const sorted = dts.slice().sort((a, b) => b.score - a.score); // Array.prototype.sort is stable
  return sorted.length > maxDet ? sorted.slice(0, maxDet) : sorted;
}

/** computeIoU: [D*G] row-major by detection. */
function computeIou(
  dt: Detection[],
  gt: GtItem[],
  params: EvalParams,
  imgHW: [number, number],
): Float64Array {
  const crowd = gt.map((g) => g.crowd);
  if (params.iouType === 'bbox') {
    return boxIou(
      dt.map((d) => d.bbox),
      gt.map((g) => g.box!),
      crowd,
    );
  }
  // Box results without a mask are evaluated as their box's polygon, as loadRes makes it.
  const dtRles = dt.map((d) => d.rle ?? rleFromBox(d.bbox, imgHW[0], imgHW[1]));
  return rleIou(
    dtRles,
    gt.map((g) => g.rle!),
    crowd,
    dt.map((d, j) => d.maskBox ?? rleToBbox(dtRles[j])),
    gt.map((g) => g.maskBox!),
  );
}

const isIgnored = (g: GtItem, range: [number, number]) => g.crowd || g.area < range[0] || g.area > range[1];

// Per-call buffers of evaluateImg, reused (grown on demand): millions of calls on large datasets.
let scratch = {
  order: new Int32Array(64),
  gtIg: new Uint8Array(64),
  gtCrowd: new Uint8Array(64),
  gtIdNonZero: new Uint8Array(64),
  gtm: new Uint8Array(64),
};

/** evaluateImg() for one area range: fills outcome[off .. off + T*D) and returns the count of usable gt. */
function evaluateImg(
  dt: Detection[],
  gt: GtItem[],
  ious: Float64Array,
  range: [number, number],
  params: EvalParams,
  outcome: Uint8Array,
  off: number,
): number {
  const T = params.iouThrs.length;
  const D = dt.length;
  const G = gt.length;
  if (scratch.order.length < G) {
    const n = Math.max(G, 2 * scratch.order.length);
    scratch = {
      order: new Int32Array(n),
      gtIg: new Uint8Array(n),
      gtCrowd: new Uint8Array(n),
      gtIdNonZero: new Uint8Array(n),
      gtm: new Uint8Array(n),
    };
  }
  const { order, gtIg, gtCrowd, gtIdNonZero, gtm } = scratch;
  // Ignored ground truth last, stable: the order in which they are tried.
  let numGt = 0;
  for (let g = 0; g < G; g++) if (!isIgnored(gt[g], range)) order[numGt++] = g;
  for (let g = 0, n = numGt; g < G; g++) if (isIgnored(gt[g], range)) order[n++] = g;
  for (let g = 0; g < G; g++) {
    const src = gt[order[g]];
    gtIg[g] = g >= numGt ? 1 : 0;
    gtCrowd[g] = src.crowd ? 1 : 0;
    gtIdNonZero[g] = src.id !== 0 ? 1 : 0;
  }
  for (let t = 0; t < T; t++) {
    gtm.fill(0, 0, G);
    const thr = Math.min(params.iouThrs[t], 1 - 1e-10);
    for (let d = 0; d < D; d++) {
      let best = thr;
      let m = -1;
      const row = d * G;
      for (let g = 0; g < G; g++) {
        if (gtm[g] && !gtCrowd[g]) continue;
        if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
        const v = ious[row + order[g]];
        if (v < best) continue;
        best = v;
        m = g;
      }
      const a = dt[d].area;
      const outside = a < range[0] || a > range[1];
      let o: number;
      if (m === -1) o = outside ? IGNORED : FP;
      else {
        gtm[m] = 1;
        // pycocotools stores the gt id as the match and later tests it for truth.
        const matched = gtIdNonZero[m] === 1;
        o = gtIg[m] === 1 || (!matched && outside) ? IGNORED : matched ? TP : FP;
      }
      outcome[off + t * D + d] = o;
    }
  }
  return numGt;
}

/** COCOeval.evaluate() for detections `dts` (from loadResults) against `gt`. */
export function evaluate(
  gt: EvalGroundTruth,
  dts: Detection[],
  params: EvalParams,
  onProgress?: Progress,
): Evaluated {
  const I = params.imgIds.length;
  const K = params.catIds.length;
  const A = params.areaRng.length;
  const maxDet = params.maxDets[params.maxDets.length - 1];
  const gtGroups = prepareGt(gt, params);
  const dtGroups = groupDetections(dts, params);
  const images = new Map(gt.images.map((im) => [im.id, im]));
  const T = params.iouThrs.length;
  const evalImgs: (ImageEval | null)[] = new Array(K * I).fill(null);
  for (let i = 0; i < I; i++) {
    const img = images.get(params.imgIds[i])!;
    for (let k = 0; k < K; k++) {
      const key = i * K + k;
      const g = gtGroups.get(key) ?? [];
      const dAll = dtGroups.get(key) ?? [];
      if (g.length === 0 && dAll.length === 0) continue;
      const d = topByScore(dAll, maxDet);
      const ious =
        d.length > 0 && g.length > 0
          ? computeIou(d, g, params, [img.height, img.width])
          : new Float64Array(0);
      const D = d.length;
      const outcome = new Uint8Array(A * T * D);
      const numGt = new Uint32Array(A);
      for (let a = 0; a < A; a++)
        numGt[a] = evaluateImg(d, g, ious, params.areaRng[a], params, outcome, a * T * D);
      evalImgs[k * I + i] = { dtScores: Float64Array.from(d, (x) => x.score), outcome, numGt };
    }
    onProgress?.(i + 1, I);
  }
  return { params, evalImgs };
}
