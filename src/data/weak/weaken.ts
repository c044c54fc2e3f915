// `weaken`: derive a weak-label dataset from a fully annotated COCO dataset (DESIGN section 5, paper
// section 5.3). Which images get which kind is a seeded random choice; labels come from the masks.
import type { CocoAnnotation, CocoDataset, CocoImage } from '../coco/types.ts';
import { annToRle, rleToBbox, type Rle } from '../mask/index.ts';
import { costOf, type Costs } from './budget.ts';
import { pointInMask, type PointStrategy } from './points.ts';
import { seededStreams, shuffle } from './rng.ts';
import type { WeakAnnotation, WeakDataset, WeakImage, WeakLabelType } from './types.ts';

export interface WeakenCounts {
  tag: number;
  point: number;
  box: number;
  /** Full masks (a fourth kind, e.g. for a fully supervised reference); not part of the paper's budget. */
  mask?: number;
}

export interface WeakenOptions {
  counts: WeakenCounts;
  seed: number;
  /** Unchosen images: kept as label_type "none" (unlabeled) or dropped from the output. */
  unchosen: 'keep' | 'drop';
  pointStrategy: PointStrategy;
  /** Boxes: the tight pixel box of the mask (default) or the annotation's own `bbox`. */
  boxSource: 'mask' | 'annotation';
  /** Only used for the summary's cost column. */
  costs?: Costs;
  /** Name of the source file, for error messages and provenance. */
  source?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface WeakenSummaryRow {
  kind: WeakLabelType;
  images: number;
  /** Labels produced: tags listed, points, boxes or masks. */
  labels: number;
  /** Instances that got no label: crowd regions (points/boxes) or masks that rasterise to no pixel. */
  skippedCrowd: number;
  skippedEmpty: number;
}

export interface WeakenResult {
  dataset: WeakDataset;
  summary: WeakenSummaryRow[];
  /** Images with no non-crowd instance: never chosen (they cannot carry a point or box). */
  imagesWithoutInstances: number;
  cost?: number;
}

/**
 * Rules (see docs/formats.md): an image is eligible when it has at least one non-crowd annotation.
 * Tags list every class annotated in the image, crowd regions included (the class is visibly
 * there). Points and boxes are one per non-crowd instance (a crowd region is not one object);
 * mask images keep every annotation as it is, crowd included. Annotation ids are kept.
 */
export function weaken(coco: CocoDataset, opts: WeakenOptions): WeakenResult {
  const src = opts.source ?? 'input';
  const { tag, point, box } = opts.counts;
  const mask = opts.counts.mask ?? 0;
  for (const [k, n] of Object.entries({ tag, point, box, mask }))
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`count for ${k} must be a non-negative integer, got ${n}`);

  const byImage = new Map<number, CocoAnnotation[]>();
  for (const a of coco.annotations) {
    let list = byImage.get(a.image_id);
    if (!list) byImage.set(a.image_id, (list = []));
    list.push(a);
  }
  const eligible = coco.images.filter((im) => (byImage.get(im.id) ?? []).some((a) => !a.iscrowd));
  const wanted = tag + point + box + mask;
  if (wanted > eligible.length)
    throw new Error(
      `${src}: asked for ${wanted} labeled images (tag ${tag}, point ${point}, box ${box}, mask ${mask}) but only ` +
        `${eligible.length} of ${coco.images.length} images have a non-crowd instance`,
    );

  const [chooseRng, pointRng] = seededStreams(opts.seed, 2);
  const order = shuffle(
    chooseRng,
    eligible.map((im) => im.id),
  );
  const kindOf = new Map<number, WeakLabelType>();
  const plan: [WeakLabelType, number][] = [
    ['tag', tag],
    ['point', point],
    ['box', box],
    ['mask', mask],
  ];
  let at = 0;
  for (const [kind, n] of plan) for (let i = 0; i < n; i++) kindOf.set(order[at++], kind);

  const rows = new Map<WeakLabelType, WeakenSummaryRow>();
  for (const kind of ['tag', 'point', 'box', 'mask', 'none'] as const)
    rows.set(kind, { kind, images: 0, labels: 0, skippedCrowd: 0, skippedEmpty: 0 });

  const images: WeakImage[] = [];
  const annotations: WeakAnnotation[] = [];
  let done = 0;
  for (const im of coco.images) {
    opts.onProgress?.(++done, coco.images.length);
    const kind = kindOf.get(im.id) ?? 'none';
    if (kind === 'none' && opts.unchosen === 'drop') continue;
    const row = rows.get(kind)!;
    row.images++;
    const anns = byImage.get(im.id) ?? [];
    const out: WeakImage = { ...stripLabels(im), label_type: kind };
    if (kind === 'tag') {
      out.tags = [...new Set(anns.map((a) => a.category_id))].sort((a, b) => a - b);
      row.labels += out.tags.length;
    }
    images.push(out);
    if (kind === 'tag' || kind === 'none') continue;
    for (const a of anns) {
      const base = { id: a.id, image_id: a.image_id, category_id: a.category_id };
      if (kind === 'mask') {
        if (a.segmentation === undefined) throw missing(src, a, 'segmentation', 'a mask label');
        annotations.push({ ...a });
        row.labels++;
        continue;
      }
      if (a.iscrowd) {
        row.skippedCrowd++;
        continue;
      }
      if (kind === 'box' && opts.boxSource === 'annotation') {
        if (a.bbox === undefined) throw missing(src, a, 'bbox', 'a box label with --box-source annotation');
        if (!(a.bbox[2] > 0 && a.bbox[3] > 0)) {
          row.skippedEmpty++;
          continue;
        }
        annotations.push({ ...base, bbox: [...a.bbox] });
        row.labels++;
        continue;
      }
      const rle = maskOf(src, a, im);
      if (kind === 'point') {
        const p = pointInMask(rle, opts.pointStrategy, pointRng);
        if (!p) row.skippedEmpty++;
        else {
          annotations.push({ ...base, point: p });
          row.labels++;
        }
      } else {
        const b = rleToBbox(rle);
        if (!(b[2] > 0 && b[3] > 0)) row.skippedEmpty++;
        else {
          annotations.push({ ...base, bbox: b });
          row.labels++;
        }
      }
    }
  }

  const dataset: WeakDataset = {
    info: {
      ...(coco.info ?? {}),
      weaken: {
        source: opts.source,
        seed: opts.seed,
        counts: { tag, point, box, mask },
        unchosen: opts.unchosen,
        point_strategy: opts.pointStrategy,
        box_source: opts.boxSource,
      },
    },
    ...(coco.licenses ? { licenses: coco.licenses } : {}),
    images,
    annotations,
    categories: coco.categories.map((c) => ({ ...c })),
  };
  return {
    dataset,
    summary: [...rows.values()],
    imagesWithoutInstances: coco.images.length - eligible.length,
    cost: opts.costs ? costOf({ tag, point, box }, opts.costs) : undefined,
  };
}

function stripLabels(im: CocoImage): CocoImage {
  const { label_type: _l, tags: _t, ...rest } = im as CocoImage & { label_type?: unknown; tags?: unknown };
  return rest as CocoImage;
}

function missing(src: string, a: CocoAnnotation, field: string, what: string): Error {
  return new Error(
    `${src}: annotation id ${a.id} (image id ${a.image_id}): no "${field}", needed for ${what}`,
  );
}

function maskOf(src: string, a: CocoAnnotation, im: CocoImage): Rle {
  if (a.segmentation === undefined) throw missing(src, a, 'segmentation', 'points and boxes from masks');
  try {
    return annToRle(a.segmentation, im.height, im.width, `annotation id ${a.id}: segmentation`);
  } catch (err) {
    throw new Error(`${src}: annotation id ${a.id} (image id ${a.image_id}): ${(err as Error).message}`);
  }
}
