// The training data pipeline: a PreparedDataset -> seeded, augmented batches with each image's targets.
// Order and augmentation are pure functions of (seed, iteration, slot), so a resumed run sees exactly the
// batches an uninterrupted one would. Label kinds mix freely within a batch:
//   point / box -> SAM's three masks (original frame, read through the frame map) + SAM prompt latents
//   mask        -> the full masks warped into the augmented frame (one level)
//   tag         -> filled in after the forward pass from the model's CAMs (tagTargets, Eq. 18)
import path from 'node:path';
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import type { FrameMap } from '../data/augment/index.ts';
import type { RgbImage } from '../data/image/types.ts';
import { annToRle, decode, rleToCoco } from '../data/mask/index.ts';
import { mix32, seededRandom } from '../data/synth/rng.ts';
import type { WeakImage } from '../data/weak/types.ts';
import type { TagsToPointsConfig } from '../method/config.ts';
import type { PreparedDataset, PreparedLabel } from '../method/prepare/types.ts';
import {
  DenseMaskTargets,
  FrameMaskTargets,
  samOriginalFrameLogits,
  type SamGeometry,
} from '../method/sam-targets.ts';
import { tagsToPoints, type PointPromptTeacher, type TagPoints } from '../method/tags-to-points.ts';
import type { ImageTargets } from '../method/types.ts';
import { normalizeImages } from '../model/normalize.ts';
import { resizedShape } from '../sam/preprocess.ts';
import { AugmentPool } from './augment-pool.ts';
import { runAugmentJob, type AugmentJob, type AugmentResult } from './augment-job.ts';
import type { PromptLatentSource } from './teacher.ts';

export interface AugmentSettings {
  minScale: number;
  maxScale: number;
  flipProb: number;
}

/** One augmented image and what it needs to become targets. */
export interface Sample {
  image: WeakImage;
  /** Original -> augmented frame. */
  frame: FrameMap;
  /** [3, S, S] uint8 RGB of the augmented image. */
  pixels: RgbImage;
  /** Class indices (0..C-1) of the kept labels (point / box / mask images). */
  classes: number[];
  /** Point / box images: the kept labels. */
  labels: PreparedLabel[];
  /** Mask images: kept masks [T, S, S] (0/1) in the augmented frame. */
  dense: Uint8Array[];
  /** Tag images: the tags as class indices. */
  tags: number[];
}

const KINDS = new Set(['point', 'box', 'mask', 'tag']);

export class BatchSource {
  readonly numClasses: number;
  /** Images that carry a usable label, in id order ('none' images are skipped). */
  readonly images: WeakImage[];
  /** category id -> class index. */
  readonly classOf: Map<number, number>;
  readonly categoryIds: number[];
  /** Decoded training images by file (augmentation in this thread; workers keep their own). */
  private readonly pixelCache = new Map<string, RgbImage>();
  private readonly samCache = new Map<number, Uint8Array>();
  private pool: AugmentPool | null = null;
  /** The next iteration's augmentation, started by the workers while this one trains. */
  private ahead: { it: number; warps: Promise<AugmentResult[]> } | null = null;
  private readonly annsByImage = new Map<number, { category_id: number; segmentation?: unknown }[]>();
  private readonly perms = new Map<number, number[]>();

  constructor(
    readonly prepared: PreparedDataset,
    readonly opts: {
      inputSize: number;
      batchSize: number;
      augment: AugmentSettings;
      seed: number;
      cacheImages: boolean;
      latents: PromptLatentSource;
      /** Where batch tensors go (the model's device); default 'cpu'. */
      device?: string;
      /**
       * Augmentation worker threads (0: augment in this thread). With workers, iteration it + 1's images
       * are decoded and warped while it trains; the batches are the same either way. Call close() after.
       */
      workers?: number;
    },
  ) {
    const weak = prepared.weak;
    this.categoryIds = weak.categories.map((c) => c.id).sort((a, b) => a - b);
    this.classOf = new Map(this.categoryIds.map((id, i) => [id, i]));
    this.numClasses = this.categoryIds.length;
    for (const a of weak.annotations) {
      const list = this.annsByImage.get(a.image_id) ?? [];
      list.push(a);
      this.annsByImage.set(a.image_id, list);
    }
    this.images = weak.images
      .filter((im) => {
        if (!KINDS.has(im.label_type)) return false;
        if (im.label_type === 'tag') return (im.tags ?? []).length > 0;
        if (im.label_type === 'mask') return (this.annsByImage.get(im.id) ?? []).length > 0;
        return (prepared.labels.get(im.id) ?? []).length > 0;
      })
      .sort((a, b) => a.id - b.id);
    if (this.images.length === 0) throw new Error(`${prepared.dir}: no image with a usable label`);
    for (const im of this.images) {
      if (im.label_type === 'tag') {
        for (const t of im.tags!) this.classIndex(t, `image ${im.id} tag`);
      }
    }
  }

  private classIndex(categoryId: number, where: string): number {
    const c = this.classOf.get(categoryId);
    if (c === undefined) throw new Error(`${this.prepared.dir}: ${where}: unknown category id ${categoryId}`);
    return c;
  }

  /** The image indices of iteration `it`: epoch-wise seeded permutations, read in order. */
  indicesOf(it: number): number[] {
    const N = this.images.length;
    const B = this.opts.batchSize;
    return Array.from({ length: B }, (_, j) => {
      const g = it * B + j;
      const epoch = Math.floor(g / N);
      let perm = this.perms.get(epoch);
      if (!perm) {
        const rand = seededRandom(mix32(this.opts.seed, 0x5eed0000 + epoch));
        perm = Array.from({ length: N }, (_, i) => i);
        for (let i = N - 1; i > 0; i--) {
          const k = Math.floor(rand() * (i + 1));
          [perm[i], perm[k]] = [perm[k], perm[i]];
        }
        this.perms.clear(); // only the current epoch is needed
        this.perms.set(epoch, perm);
      }
      return perm[g % N];
    });
  }

  /** Point / box images: their labels' three SAM masks [T, 3, H, W] (0/1), decoded once per image. */
  private samMasksOf(im: WeakImage): Uint8Array | null {
    const labels = this.prepared.labels.get(im.id);
    if (!labels || (im.label_type !== 'point' && im.label_type !== 'box')) return null;
    const hit = this.samCache.get(im.id);
    if (hit) return hit;
    const plane = im.width * im.height;
    const samMasks = new Uint8Array(labels.length * 3 * plane);
    labels.forEach((l, t) =>
      l.masks.forEach((rle, k) => {
        const m = decode(rle);
        if (m.width !== im.width || m.height !== im.height) {
          throw new Error(
            `${this.prepared.dir}: image ${im.id} label ${l.annotationId} level ${k + 1}: mask is ${m.width}x${m.height}, image ${im.width}x${im.height}`,
          );
        }
        samMasks.set(m.data, (t * 3 + k) * plane);
      }),
    );
    if (this.opts.cacheImages) this.samCache.set(im.id, samMasks);
    return samMasks;
  }

  /** The augmentation job of image `index` in slot j of iteration it (its instances and random stream). */
  private jobOf(index: number, it: number, j: number): AugmentJob {
    const im = this.images[index];
    const S = this.opts.inputSize;
    let instances: AugmentJob['instances'] = [];
    if (im.label_type === 'point' || im.label_type === 'box') {
      instances = (this.prepared.labels.get(im.id) ?? []).map((l, i) =>
        l.kind === 'point'
          ? { i, point: [l.prompt[0], l.prompt[1]] as [number, number] }
          : { i, box: l.prompt as [number, number, number, number] },
      );
    } else if (im.label_type === 'mask') {
      instances = (this.annsByImage.get(im.id) ?? []).map((a, i) => ({
        i,
        rle: rleToCoco(annToRle(a.segmentation, im.height, im.width, `image ${im.id} annotation ${i}`)),
      }));
    }
    return {
      file: path.join(this.prepared.manifest.images, im.file_name),
      width: im.width,
      height: im.height,
      instances,
      randSeed: mix32(mix32(this.opts.seed, it), j),
      options: { targetWidth: S, targetHeight: S, ...this.opts.augment },
      cache: this.opts.cacheImages,
    };
  }

  /** One augmented sample from its warp (the augmentation job's result). */
  private finish(index: number, w: AugmentResult): Sample & { samMasks: Uint8Array | null } {
    const im = this.images[index];
    const labels = this.prepared.labels.get(im.id) ?? [];
    const base = {
      image: im,
      frame: w.map,
      pixels: w.image,
      labels: [] as PreparedLabel[],
      dense: [] as Uint8Array[],
    };
    if (im.label_type === 'tag') {
      return {
        ...base,
        classes: [],
        tags: im.tags!.map((t) => this.classIndex(t, `image ${im.id} tag`)),
        samMasks: null,
      };
    }
    if (im.label_type === 'mask') {
      const anns = this.annsByImage.get(im.id)!;
      return {
        ...base,
        classes: w.instances.map((x) => this.classIndex(anns[x.i].category_id, `image ${im.id}`)),
        dense: w.instances.map((x) => decode(x.rle!).data),
        tags: [],
        samMasks: null,
      };
    }
    // Point / box: keep the labels whose prompt survived the crop; their masks stay in the original frame.
    const samMasks = this.samMasksOf(im)!;
    const plane = im.width * im.height;
    const kept = w.instances.map((x) => x.i);
    const masks = new Uint8Array(kept.length * 3 * plane);
    kept.forEach((i, t) => masks.set(samMasks.subarray(i * 3 * plane, (i + 1) * 3 * plane), t * 3 * plane));
    return {
      ...base,
      labels: kept.map((i) => labels[i]),
      classes: kept.map((i) =>
        this.classIndex(labels[i].categoryId, `image ${im.id} label ${labels[i].annotationId}`),
      ),
      tags: [],
      samMasks: masks,
    };
  }

  /** Iteration it's samples: augmented in this thread, or by the worker pool (then it + 1's are started). */
  private async samplesOf(it: number): Promise<(Sample & { samMasks: Uint8Array | null })[]> {
    const workers = this.opts.workers ?? 0;
    const indices = this.indicesOf(it); // before it + 1's, which may start the next epoch's order
    if (workers === 0) {
      return Promise.all(
        indices.map(async (index, j) =>
          this.finish(index, await runAugmentJob(this.jobOf(index, it, j), this.pixelCache)),
        ),
      );
    }
    this.pool ??= new AugmentPool(workers);
    const start = (k: number): Promise<AugmentResult[]> => {
      const pool = this.pool!;
      const p = Promise.all(this.indicesOf(k).map((index, j) => pool.run(this.jobOf(index, k, j), index)));
      p.catch(() => undefined); // a prefetch nobody takes (the run stopped) must not be an unhandled rejection
      return p;
    };
    const mine = this.ahead?.it === it ? this.ahead.warps : start(it);
    this.ahead = { it: it + 1, warps: start(it + 1) };
    const warps = await mine;
    return indices.map((index, j) => this.finish(index, warps[j]));
  }

  /** Stops the augmentation workers (if any); the source still works after, in this thread. */
  async close(): Promise<void> {
    this.ahead = null;
    const pool = this.pool;
    this.pool = null;
    this.opts.workers = 0;
    await pool?.close();
  }

  /**
   * Iteration `it`'s batch: images [B, 3, S, S] normalised, and targets for every image (tag images get
   * theirs from tagTargets after the forward pass; until then their entry is null).
   */
  async batch(it: number): Promise<Batch> {
    const S = this.opts.inputSize;
    const samples = await this.samplesOf(it);
    const B = samples.length;
    const px = new Uint8Array(B * 3 * S * S);
    samples.forEach((s, b) => {
      const d = s.pixels.data;
      for (let c = 0; c < 3; c++) {
        const off = (b * 3 + c) * S * S;
        for (let k = 0; k < S * S; k++) px[off + k] = d[k * 3 + c];
      }
    });
    const device = this.opts.device ?? 'cpu';
    const images = torch.tidy(() => normalizeImages(torch.fromTypedArray(px, [B, 3, S, S], { device })));
    const owned: Tensor[] = [images];
    const targets = samples.map((s): ImageTargets | null => {
      if (s.image.label_type === 'tag') return null;
      if (s.image.label_type === 'mask') {
        const T = s.dense.length;
        const flat = new Uint8Array(T * S * S);
        s.dense.forEach((m, t) => flat.set(m, t * S * S));
        const dense = torch.fromTypedArray(flat, [T, S, S], { device });
        owned.push(dense);
        return { classes: s.classes, masks: new DenseMaskTargets(dense), prompts: null };
      }
      const T = s.labels.length;
      const { width: W, height: H } = s.image;
      const masks = torch.fromTypedArray(s.samMasks!, [T, 3, H, W], { device });
      owned.push(masks);
      const fm = new FrameMaskTargets(masks, s.frame);
      const kind = s.image.label_type as 'point' | 'box';
      let prompts = null;
      if (T > 0) {
        const latents = this.opts.latents.latents(
          kind,
          s.labels.map((l) => l.prompt),
          [H, W],
        );
        const onDevice = device === 'cpu' ? latents : latents.to(device);
        if (onDevice !== latents) latents.dispose();
        owned.push(onDevice);
        prompts = { kind, latents: onDevice };
      }
      return { classes: s.classes, masks: fm, prompts };
    });
    return {
      images,
      samples,
      targets,
      dispose: () => torch.dispose(owned),
    };
  }
}

export interface Batch {
  /** [B, 3, S, S] normalised. */
  images: Tensor;
  samples: Sample[];
  /** null for tag images until tagTargets fills them. */
  targets: (ImageTargets | null)[];
  dispose(): void;
}

/**
 * Section 4.3 at train time for one tag image: its current CAMs [C, h, w] -> peaks -> SAM point prompts
 * from the cached embedding -> point targets (SAM's three low-res masks, read through the frame map) and
 * point prompt latents. Returns the targets and the tensors to dispose after the step.
 */
export async function tagTargets(
  sample: Sample,
  cams: Tensor,
  teacher: PointPromptTeacher,
  latents: PromptLatentSource,
  samImgSize: number,
  config: TagsToPointsConfig,
): Promise<{ targets: ImageTargets; owned: Tensor[]; points: number; labels: TagPoints['labels'] }> {
  const { width: W, height: H } = sample.image;
  const r = await tagsToPoints(
    { embeddingId: sample.image.file_name, cams, tags: sample.tags, frame: sample.frame },
    teacher,
    config,
  );
  const imageClasses = sample.tags;
  if (r.labels.length === 0 || r.sam === null) {
    const none = torch.zeros([0, 1, 1], { device: cams.device });
    return {
      targets: { classes: [], masks: new DenseMaskTargets(none), prompts: null, imageClasses },
      owned: [none],
      points: 0,
      labels: [],
    };
  }
  const geometry: SamGeometry = {
    imgSize: samImgSize,
    inputSize: resizedShape([H, W], samImgSize),
    originalSize: [H, W],
  };
  const z = latents.latents(
    'point',
    r.labels.map((l) => l.point),
    [H, W],
  );
  // SAM's masks in the original frame, binarised at its threshold once per image: the targets point and box
  // images get from prepare, read the same (cheap) way and batched with theirs. On the student's device
  // (the teacher may run elsewhere).
  const masks = torch.noGrad(() =>
    torch.tidy(() =>
      samOriginalFrameLogits(r.sam!.lowResLogits, geometry)
        .gt(config.maskThreshold)
        .to({ dtype: 'uint8', device: cams.device }),
    ),
  );
  const owned = [r.sam.lowResLogits, r.sam.iou, r.sam.stability, z, masks];
  return {
    targets: {
      classes: r.labels.map((l) => l.classId),
      masks: new FrameMaskTargets(masks, sample.frame),
      prompts: { kind: 'point', latents: z },
      imageClasses,
    },
    owned,
    points: r.labels.length,
    labels: r.labels,
  };
}
