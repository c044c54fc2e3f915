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

/** evaluateImg() for one (category, area range, image); null when it has neither gt nor dt. */
export interface ImageEval {
  /** Scores of the kept detections, highest first. [D] */
  dtScores: Float64Array;
  /** 1 where the detection matched (a ground truth with a non-zero id, as pycocotools tests it). [T*D] */
  dtMatched: Uint8Array;
  /** 1 where the detection is ignored. [T*D] */
  dtIgnore: Uint8Array;
  /** Number of ground truths not ignored. */
  numGt: number;
}

/** evalImgs laid out as pycocotools does: index k*A*I + a*I + i. */
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

function evaluateImg(
  dt: Detection[],
  dtScores: Float64Array,
  gt: GtItem[],
  ious: Float64Array,
  range: [number, number],
  params: EvalParams,
): ImageEval {
  const T = params.iouThrs.length;
  const D = dt.length;
  const G = gt.length;
  const ignoredRaw = gt.map((g) => g.crowd || g.area < range[0] || g.area > range[1]);
  // Ignored ground truth last, stable: the order in which they are tried.
  const order: number[] = [];
  for (let g = 0; g < G; g++) if (!ignoredRaw[g]) order.push(g);
  const numGt = order.length;
  for (let g = 0; g < G; g++) if (ignoredRaw[g]) order.push(g);
  const gtIg = new Uint8Array(G);
  const gtCrowd = new Uint8Array(G);
  const gtIdNonZero = new Uint8Array(G);
  for (let g = 0; g < G; g++) {
    const src = gt[order[g]];
    gtIg[g] = ignoredRaw[order[g]] ? 1 : 0;
    gtCrowd[g] = src.crowd ? 1 : 0;
    gtIdNonZero[g] = src.id !== 0 ? 1 : 0;
  }
  const dtMatched = new Uint8Array(T * D);
  const dtIgnore = new Uint8Array(T * D);
  if (D > 0 && G > 0) {
    const gtm = new Uint8Array(G);
    for (let t = 0; t < T; t++) {
      gtm.fill(0);
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
        if (m === -1) continue;
        dtIgnore[t * D + d] = gtIg[m];
        // pycocotools stores the gt id and later tests it for truth: a gt with id 0 counts as no match.
        dtMatched[t * D + d] = gtIdNonZero[m];
        gtm[m] = 1;
      }
    }
  }
  for (let d = 0; d < D; d++) {
    const a = dt[d].area;
    if (a < range[0] || a > range[1]) {
      for (let t = 0; t < T; t++) if (!dtMatched[t * D + d]) dtIgnore[t * D + d] = 1;
    }
  }
  return { dtScores, dtMatched, dtIgnore, numGt };
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
  const evalImgs: (ImageEval | null)[] = new Array(K * A * I).fill(null);
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
      const scores = Float64Array.from(d, (x) => x.score); // shared by the area ranges, read-only
      for (let a = 0; a < A; a++)
        evalImgs[k * A * I + a * I + i] = evaluateImg(d, scores, g, ious, params.areaRng[a], params);
    }
    onProgress?.(i + 1, I);
  }
  return { params, evalImgs };
}
