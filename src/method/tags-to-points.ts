// Tags to points (section 4.3, Eq. 18): CAM peaks of each tag class become SAM point prompts; peaks
// whose SAM masks overlap are one instance; per instance the peak with the most stable mask is kept.
// The result is a point label, handled from there on like an annotated point.
//
// Frames: the CAMs are computed on the augmented training image; SAM runs in the original image's frame
// from its cached embedding. `frame` maps original -> augmented (src/data/augment's FrameMap, COCO
// continuous coordinates: pixel i covers [i, i + 1)); peaks are mapped back through its inverse.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { invertMap, mapPoint, type FrameMap } from '../data/augment/frame-map.ts';
import type { TagsToPointsConfig } from './config.ts';

/** SAM's answer to N single positive point prompts. */
export interface PointPromptOutput {
  /** [N, 3, r, r] low-resolution mask logits of the three multimask outputs. */
  lowResLogits: Tensor;
  /** [N, 3] predicted IoU. */
  iou: Tensor;
  /** [N, 3] stability scores. */
  stability: Tensor;
}

/**
 * The narrow view of SAM that tags-to-points needs: one positive point per prompt, multimask output,
 * from a cached image embedding. The returned tensors are handed over: tagsToPoints disposes them.
 */
export interface PointPromptTeacher {
  /** points [N, 2] (x, y) in the original image frame (COCO continuous coordinates). */
  predictPoints(embeddingId: string, points: Tensor): PointPromptOutput | Promise<PointPromptOutput>;
}

export interface Peak {
  classId: number;
  /** Normalised CAM value in [0, 1]. */
  score: number;
  /** Position in the augmented frame and in the original frame. */
  augmented: [number, number];
  point: [number, number];
}

export interface PointLabel {
  classId: number;
  /** (x, y) in the original image frame. */
  point: [number, number];
}

function checkCams(cams: Tensor[]): [number, number] {
  if (cams.length === 0) throw new Error('findPeaks: no CAM maps given');
  const C = cams[0].shape[0];
  for (const m of cams) {
    if (m.ndim !== 3 || m.shape[0] !== C) {
      throw new Error(`findPeaks: every CAM must be [C, h, w] with C = ${C}, got [${m.shape.join(', ')}]`);
    }
  }
  return [C, cams.length];
}

/**
 * The peaks of each tag class's CAM. cams: [C, h, w] maps covering the augmented image (one, or several
 * scales to average); tags: class ids present. Per class: average the maps (upsampled bilinearly to the
 * peak grid), ReLU, divide by the maximum; candidates are local maxima of a 3x3 maximum filter (a flat
 * plateau counts once, at its member nearest its centroid) with value >= tau, inside the original
 * image; the global maximum is always first; then greedily keep peaks at least minPeakDistance apart.
 * A class whose CAM has no positive value gives no peak.
 */
export function findPeaks(
  cams: Tensor | Tensor[],
  tags: number[],
  frame: FrameMap,
  config: TagsToPointsConfig,
): Peak[] {
  const maps = Array.isArray(cams) ? cams : [cams];
  const [C] = checkCams(maps);
  const classes = [...new Set(tags)].sort((a, b) => a - b);
  for (const c of classes) {
    if (!(Number.isInteger(c) && c >= 0 && c < C)) throw new Error(`findPeaks: tag ${c} outside [0, ${C})`);
  }
  if (classes.length === 0) return [];
  const W = frame.dstWidth;
  const H = frame.dstHeight;
  const gw = Math.ceil(W / config.peakGridStride);
  const gh = Math.ceil(H / config.peakGridStride);
  const cellX = W / gw;
  const cellY = H / gh;
  const inverse = invertMap(frame);

  const { values, candidates, maxima } = torch.noGrad(() =>
    torch.tidy(() => {
      const idx = torch.tensor(classes, { dtype: 'int64', device: maps[0].device });
      let sum: Tensor | null = null;
      for (const m of maps) {
        const up = torch.interpolate(m.indexSelect(0, idx).unsqueeze(0).float(), {
          size: [gh, gw],
          mode: 'bilinear',
          alignCorners: false,
        });
        sum = sum === null ? up : sum.add(up);
      }
      const act = sum!.div(maps.length).relu().squeeze(0); // [k, gh, gw]
      const maxima = act.amax([1, 2]); // [k]
      const norm = act.div(maxima.clampMin(1e-12).reshape(-1, 1, 1));
      const pooled = torch.maxPool2d(norm.unsqueeze(0), 3, { stride: 1, padding: 1 }).squeeze(0);
      const isPeak = norm.eq(pooled).logicalAnd(norm.ge(config.tau));
      const at = isPeak.nonzero(); // [n, 3] (class slot, row, col)
      const flat = at
        .select(1, 0)
        .mul(gh * gw)
        .add(at.select(1, 1).mul(gw))
        .add(at.select(1, 2));
      return {
        values: norm.flatten().indexSelect(0, flat).toFloat32Array(),
        candidates: at.toTypedArray() as BigInt64Array,
        maxima: maxima.toFloat32Array(),
      };
    }),
  );
  // Whether a peak-grid cell's centre lies inside the original image.
  const inside = (col: number, row: number): boolean => {
    const [x, y] = mapPoint(inverse, [(col + 0.5) * cellX, (row + 0.5) * cellY]);
    return x >= 0 && x < frame.srcWidth && y >= 0 && y < frame.srcHeight;
  };

  // Group candidates per class slot, then plateaus by 8-connectivity (neighbouring local maxima are equal).
  const perSlot = new Map<number, Map<number, number>>(); // slot -> (row * gw + col) -> value
  for (let i = 0; i < values.length; i++) {
    const slot = Number(candidates[3 * i]);
    const row = Number(candidates[3 * i + 1]);
    const col = Number(candidates[3 * i + 2]);
    if (!inside(col, row)) continue;
    if (!perSlot.has(slot)) perSlot.set(slot, new Map());
    perSlot.get(slot)!.set(row * gw + col, values[i]);
  }
  const minDist = config.minPeakDistance * Math.max(W, H);
  const peaks: Peak[] = [];
  classes.forEach((classId, slot) => {
    if (!(maxima[slot] > 0)) return;
    const cells = perSlot.get(slot);
    if (!cells) return;
    const reps = plateauRepresentatives(cells, gw);
    reps.sort((a, b) => b.value - a.value || a.cell - b.cell);
    const kept: [number, number][] = [];
    for (const r of reps) {
      if (kept.length >= config.maxPeaksPerClass) break;
      const x = ((r.cell % gw) + 0.5) * cellX;
      const y = (Math.floor(r.cell / gw) + 0.5) * cellY;
      if (kept.some(([kx, ky]) => Math.hypot(kx - x, ky - y) < minDist)) continue;
      kept.push([x, y]);
      peaks.push({ classId, score: r.value, augmented: [x, y], point: mapPoint(inverse, [x, y]) });
    }
  });
  return peaks;
}

/** One cell per 8-connected plateau of equal local maxima: the member nearest the plateau's centroid. */
function plateauRepresentatives(cells: Map<number, number>, gw: number): { cell: number; value: number }[] {
  const seen = new Set<number>();
  const out: { cell: number; value: number }[] = [];
  for (const start of [...cells.keys()].sort((a, b) => a - b)) {
    if (seen.has(start)) continue;
    const members: number[] = [];
    const stack = [start];
    seen.add(start);
    while (stack.length) {
      const cell = stack.pop()!;
      members.push(cell);
      const row = Math.floor(cell / gw);
      const col = cell % gw;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const c = col + dc;
          if (c < 0 || c >= gw) continue;
          const n = (row + dr) * gw + c;
          if (!seen.has(n) && cells.has(n)) {
            seen.add(n);
            stack.push(n);
          }
        }
      }
    }
    let cy = 0;
    let cx = 0;
    for (const m of members) {
      cy += Math.floor(m / gw);
      cx += m % gw;
    }
    cy /= members.length;
    cx /= members.length;
    let best = members[0];
    let bestD = Infinity;
    for (const m of members.sort((a, b) => a - b)) {
      const d = (Math.floor(m / gw) - cy) ** 2 + ((m % gw) - cx) ** 2;
      if (d < bestD) {
        bestD = d;
        best = m;
      }
    }
    out.push({ cell: best, value: cells.get(best)! });
  }
  return out;
}

/**
 * Instance grouping of peaks from their SAM masks: within a class, peaks whose level-`groupLevel` masks
 * (logits > maskThreshold, on SAM's low-res grid) overlap with IoU > mergeIoU are linked; each connected
 * group keeps the peak whose mask at that level has the highest stability score (ties: higher CAM
 * score, then earlier peak). Returns the kept peak indices, by class then CAM score.
 */
export function groupPeaks(peaks: Peak[], sam: PointPromptOutput, config: TagsToPointsConfig): number[] {
  const N = peaks.length;
  if (sam.lowResLogits.shape[0] !== N || sam.stability.shape[0] !== N) {
    throw new Error(`groupPeaks: ${N} peaks but SAM answered ${sam.lowResLogits.shape[0]} prompts`);
  }
  if (N === 0) return [];
  const level = config.groupLevel;
  const { iou, stability } = torch.noGrad(() =>
    torch.tidy(() => {
      const m = sam.lowResLogits.select(1, level).gt(config.maskThreshold).flatten(1).float(); // [N, r*r]
      const inter = m.matmul(m.t());
      const area = m.sum(1);
      const union = area.unsqueeze(1).add(area.unsqueeze(0)).sub(inter);
      return {
        iou: inter.div(union.clampMin(1)).toFloat32Array(),
        stability: sam.stability.select(1, level).toFloat32Array(),
      };
    }),
  );
  // Union-find over the IoU graph, within a class.
  const parent = Array.from({ length: N }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]];
      i = parent[i];
    }
    return i;
  };
  for (let i = 0; i < N; i++) {
    for (let j = i + 1; j < N; j++) {
      if (peaks[i].classId === peaks[j].classId && iou[i * N + j] > config.mergeIoU)
        parent[find(i)] = find(j);
    }
  }
  const better = (a: number, b: number): boolean =>
    stability[a] !== stability[b]
      ? stability[a] > stability[b]
      : peaks[a].score !== peaks[b].score
        ? peaks[a].score > peaks[b].score
        : a < b;
  const bestOf = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const root = find(i);
    const cur = bestOf.get(root);
    if (cur === undefined || better(i, cur)) bestOf.set(root, i);
  }
  return [...bestOf.values()].sort(
    (a, b) => peaks[a].classId - peaks[b].classId || peaks[b].score - peaks[a].score || a - b,
  );
}

/** Eq. 18's point labels of one tag image, with SAM's outputs for them (no second SAM call needed). */
export interface TagPoints {
  labels: PointLabel[];
  /** SAM outputs of the kept points, rows in `labels` order; null when there is no point. */
  sam: PointPromptOutput | null;
  /** Every peak found (kept or merged away), for inspection. */
  peaks: Peak[];
}

/** One tag image: its CAMs on the augmented image, its tags, and where its SAM embedding is cached. */
export interface TagImage {
  embeddingId: string;
  /** [C, h, w] CAM logits of the augmented image (or several scales of it). */
  cams: Tensor | Tensor[];
  tags: number[];
  /** Original frame -> augmented frame. */
  frame: FrameMap;
}

/** Section 4.3 for one image: peaks -> SAM point prompts (one batched call) -> grouped point labels. */
export async function tagsToPoints(
  image: TagImage,
  teacher: PointPromptTeacher,
  config: TagsToPointsConfig,
): Promise<TagPoints> {
  const peaks = findPeaks(image.cams, image.tags, image.frame, config);
  if (peaks.length === 0) return { labels: [], sam: null, peaks };
  const device = (Array.isArray(image.cams) ? image.cams[0] : image.cams).device;
  const points = torch.tensor(
    peaks.map((p) => p.point),
    { dtype: 'float32', device },
  );
  let out: PointPromptOutput;
  try {
    out = await teacher.predictPoints(image.embeddingId, points);
  } finally {
    points.dispose();
  }
  try {
    const kept = groupPeaks(peaks, out, config);
    const sam = torch.tidy(() => {
      const idx = torch.tensor(kept, { dtype: 'int64', device: out.lowResLogits.device });
      return {
        lowResLogits: out.lowResLogits.indexSelect(0, idx),
        iou: out.iou.indexSelect(0, idx),
        stability: out.stability.indexSelect(0, idx),
      };
    });
    return {
      labels: kept.map((i) => ({ classId: peaks[i].classId, point: peaks[i].point })),
      sam,
      peaks,
    };
  } finally {
    torch.dispose([out.lowResLogits, out.iou, out.stability]);
  }
}
