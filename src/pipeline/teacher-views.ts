// What the teacher gave the student, for the demo's report: per point / box label, the candidate mask SAM
// ranks best (highest predicted IoU of the three), measured against the true mask, and drawn with its
// prompts on a few training scenes beside their ground truth.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CocoDataset } from '../data/coco/types.ts';
import { loadImage, savePng } from '../data/image/io.ts';
import type { RgbImage } from '../data/image/types.ts';
import { decode, type BinaryMask } from '../data/mask/index.ts';
import { readLabelsFile, LABELS_FILE } from '../method/prepare/labels-file.ts';
import { MANIFEST_FILE, readManifest } from '../method/prepare/prepare.ts';
import type { PreparedLabel } from '../method/prepare/types.ts';
import { drawMaskOverlay } from '../sam/overlay.ts';
import { gtMasks, type GroundTruth } from '../train/oracle.ts';

export interface TeacherIou {
  labels: number;
  /** Mean IoU of SAM's top-ranked mask with the true mask. */
  meanIou: number;
}

export interface TeacherView {
  name: string;
  kind: 'point' | 'box';
  /** Absolute paths of the drawn PNGs. */
  teacher: string;
  truth: string;
  labels: number;
}

/** IoU of two binary masks of one size (row-major 0/1 planes); 0 when both are empty. */
export function maskIou(a: BinaryMask, b: BinaryMask): number {
  if (a.data.length !== b.data.length)
    throw new Error(`maskIou: sizes differ (${a.data.length} vs ${b.data.length})`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i] !== 0;
    const y = b.data[i] !== 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** The candidate SAM ranks first by its own IoU prediction (what a user of SAM would take). */
export function topRanked(l: PreparedLabel): BinaryMask {
  let k = 0;
  for (let j = 1; j < 3; j++) if (l.iou[j] > l.iou[k]) k = j;
  return decode(l.masks[k]);
}

function drawLabels(img: RgbImage, masks: BinaryMask[], labels: PreparedLabel[]): RgbImage {
  const plane = img.width * img.height;
  const planes = new Uint8Array(masks.length * plane);
  masks.forEach((m, k) => planes.set(m.data, k * plane));
  const points = labels.filter((l) => l.kind === 'point').map((l) => [l.prompt[0], l.prompt[1], 1]);
  let out = drawMaskOverlay(img, planes, masks.length, { points: points as [number, number, number][] });
  // One box per call: the overlay draws at most one.
  for (const l of labels.filter((x) => x.kind === 'box')) {
    const [x, y, w, h] = l.prompt;
    out = drawMaskOverlay(out, new Uint8Array(0), 0, { box: [x, y, x + w - 1, y + h - 1] });
  }
  return out;
}

/**
 * Scores every prepared label against the truth (`groundTruth`: the full-mask COCO file the weak labels
 * were derived from; annotation ids are shared) and draws `perKind` scenes of each kind into `outDir`.
 */
export async function teacherViews(o: {
  preparedDir: string;
  groundTruth: string;
  outDir: string;
  perKind: number;
}): Promise<{ iou: Record<'point' | 'box', TeacherIou>; views: TeacherView[] }> {
  const manifest = await readManifest(path.join(o.preparedDir, MANIFEST_FILE));
  const { lines } = await readLabelsFile(path.join(o.preparedDir, LABELS_FILE));
  const gt = JSON.parse(await readFile(o.groundTruth, 'utf8')) as CocoDataset & GroundTruth;
  const truth = gtMasks(gt);
  const weak = JSON.parse(await readFile(manifest.data, 'utf8')) as CocoDataset;
  const fileOf = new Map(weak.images.map((im) => [im.id, im.file_name]));

  const sums = { point: { labels: 0, total: 0 }, box: { labels: 0, total: 0 } };
  const views: TeacherView[] = [];
  const shown = { point: 0, box: 0 };
  for (const line of [...lines].sort((a, b) => a.image_id - b.image_id)) {
    const masks = line.labels.map(topRanked);
    line.labels.forEach((l, i) => {
      const t = truth.get(l.annotationId);
      if (!t)
        throw new Error(
          `${o.groundTruth}: no annotation ${l.annotationId} (label of image ${line.image_id})`,
        );
      sums[l.kind].labels++;
      sums[l.kind].total += maskIou(masks[i], t);
    });
    const kind = line.labels[0]?.kind;
    if (!kind || shown[kind] >= o.perKind) continue;
    shown[kind]++;
    const file = fileOf.get(line.image_id);
    if (!file) throw new Error(`${manifest.data}: no image ${line.image_id}`);
    const img = await loadImage(path.resolve(manifest.images, file));
    const name = path.basename(file, path.extname(file));
    const teacherPng = path.join(o.outDir, `${name}.png`);
    const truthPng = path.join(o.outDir, `${name}-truth.png`);
    await savePng(teacherPng, drawLabels(img, masks, line.labels));
    const trueMasks = line.labels.map((l) => truth.get(l.annotationId)!);
    await savePng(truthPng, drawLabels(img, trueMasks, line.labels));
    views.push({ name, kind, teacher: teacherPng, truth: truthPng, labels: line.labels.length });
  }
  const mean = (k: 'point' | 'box'): TeacherIou => ({
    labels: sums[k].labels,
    meanIou: sums[k].labels > 0 ? sums[k].total / sums[k].labels : NaN,
  });
  return { iou: { point: mean('point'), box: mean('box') }, views };
}
