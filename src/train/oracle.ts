// A faked SAM for experiments without the real teacher: SAM's three nested candidate masks are made from
// the ground-truth mask (level 1 eroded, level 2 the mask itself, level 3 dilated), for point/box labels
// (a PreparedDataset built in memory) and for tag-image point prompts (a PointPromptTeacher). Results
// obtained with it are an upper bound on what the real teacher gives; reports must say it was used.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { annToRle, decode, encode, rleDecode, type BinaryMask, type CocoRle } from '../data/mask/index.ts';
import type { WeakDataset } from '../data/weak/types.ts';
import type { PreparedDataset, PreparedLabel } from '../method/prepare/types.ts';
import { PREPARED_FORMAT } from '../method/prepare/types.ts';
import type { PointPromptOutput, PointPromptTeacher } from '../method/tags-to-points.ts';
import { samPreset } from '../sam/config.ts';
import { resizedShape } from '../sam/preprocess.ts';

/** Ground truth as a COCO dataset with segmentations (the synthetic dataset's annotations.json). */
export interface GroundTruth {
  images: { id: number; width: number; height: number; file_name: string }[];
  annotations: { id: number; image_id: number; category_id: number; segmentation: unknown }[];
}

/** Max filter of a 0/1 plane with a (2r+1) square window, as two 1-D passes; outside the image is ignored. */
function maxFilter(src: Uint8Array, H: number, W: number, r: number): Uint8Array {
  // Plain loops: a 3-5 px window on small masks is microseconds; a tensor round trip costs more.
  const rows = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (let d = Math.max(0, x - r); d <= Math.min(W - 1, x + r) && v === 0; d++) v = src[y * W + d];
      rows[y * W + x] = v;
    }
  }
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0;
      for (let d = Math.max(0, y - r); d <= Math.min(H - 1, y + r) && v === 0; d++) v = rows[d * W + x];
      out[y * W + x] = v;
    }
  }
  return out;
}

/** [eroded, mask, dilated] by a square structuring element of `radius` pixels, each H x W (0/1). */
export function threeLevels(mask: BinaryMask, radius: number): [BinaryMask, BinaryMask, BinaryMask] {
  const { height: H, width: W } = mask;
  const bin = mask.data.map((v) => (v !== 0 ? 1 : 0));
  const dilated = maxFilter(bin, H, W, radius);
  const eroded = maxFilter(
    bin.map((v) => 1 - v),
    H,
    W,
    radius,
  ).map((v) => 1 - v);
  // An instance thinner than the element would vanish: keep the mask itself as level 1 then.
  const level1 = eroded.some((v) => v !== 0) ? eroded : bin;
  return [
    { height: H, width: W, data: level1 },
    { height: H, width: W, data: bin },
    { height: H, width: W, data: dilated },
  ];
}

/** Binary masks of the ground truth, by annotation id. */
export function gtMasks(gt: GroundTruth): Map<number, BinaryMask> {
  const size = new Map(gt.images.map((im) => [im.id, [im.height, im.width] as const]));
  const out = new Map<number, BinaryMask>();
  for (const a of gt.annotations) {
    const s = size.get(a.image_id);
    if (!s) throw new Error(`ground truth annotation ${a.id}: image ${a.image_id} is not listed`);
    out.set(a.id, rleDecode(annToRle(a.segmentation, s[0], s[1], `annotation ${a.id}`)));
  }
  return out;
}

/** SAM geometry the oracle pretends to have: L = twice the longer side, rounded up to 16. */
export const oracleImgSize = (maxSide: number): number => Math.ceil((2 * maxSide) / 16) * 16;

/**
 * A PreparedDataset whose point/box labels carry the oracle's three masks. Weak annotations must keep
 * the ground truth's annotation ids (as `wish weaken` does).
 */
export function oraclePrepared(
  weak: WeakDataset,
  gt: GroundTruth,
  imagesDir: string,
  radius = 2,
): PreparedDataset {
  const masks = gtMasks(gt);
  const maxSide = Math.max(...weak.images.map((im) => Math.max(im.width, im.height)));
  const kinds = new Map(weak.images.map((im) => [im.id, im.label_type]));
  const labels = new Map<number, PreparedLabel[]>();
  let points = 0;
  let boxes = 0;
  for (const a of weak.annotations) {
    const kind = kinds.get(a.image_id);
    if (kind !== 'point' && kind !== 'box') continue;
    const m = masks.get(a.id);
    if (!m) throw new Error(`weak annotation ${a.id}: no ground-truth annotation with that id`);
    const lv = threeLevels(m, radius);
    const prompt = kind === 'point' ? a.point : a.bbox;
    if (!prompt) throw new Error(`weak annotation ${a.id}: ${kind} image without a ${kind}`);
    if (kind === 'point') points++;
    else boxes++;
    const row: PreparedLabel = {
      annotationId: a.id,
      categoryId: a.category_id,
      kind,
      prompt: [...prompt],
      masks: lv.map((x) => encode(x)) as [CocoRle, CocoRle, CocoRle],
      iou: [0.9, 1, 0.9],
      stability: [0.9, 1, 0.9],
    };
    const list = labels.get(a.image_id) ?? [];
    list.push(row);
    labels.set(a.image_id, list);
  }
  return {
    dir: '(in memory: oracle teacher)',
    manifest: {
      format: PREPARED_FORMAT,
      data: '(in memory)',
      dataSha256: '',
      images: imagesDir,
      teacher: {
        checkpoint: 'oracle',
        sha256: '',
        config: { ...samPreset('vit_b'), imgSize: oracleImgSize(maxSide) },
      },
      counts: {
        images: weak.images.length,
        pointLabels: points,
        boxLabels: boxes,
        embeddedImages: weak.images.filter((i) => i.label_type === 'tag').length,
      },
      complete: true,
    },
    weak,
    labels,
    embeddingsDir: '(none)',
  };
}

/**
 * Point prompts answered from the ground truth: the instance under the point gives the three levels as
 * SAM-style low-res logits (+8 inside, -8 outside) at r = L / 4 in SAM's padded input frame; a point on
 * the background gives three empty masks. Embedding ids are the images' file_names.
 */
export class OracleTeacher implements PointPromptTeacher {
  constructor(
    /** file_name -> the image's instance masks (visible parts, disjoint). */
    readonly instances: Map<string, BinaryMask[]>,
    readonly imgSize: number,
    readonly radius = 2,
  ) {}

  predictPoints(embeddingId: string, points: Tensor): PointPromptOutput {
    const masks = this.instances.get(embeddingId);
    if (!masks) throw new Error(`oracle teacher: no ground truth for image "${embeddingId}"`);
    const xy = points.float().reshape(-1).toFloat32Array();
    const N = xy.length / 2;
    const L = this.imgSize;
    const r = L / 4;
    return torch.noGrad(() =>
      torch.tidy(() => {
        const rows: Tensor[] = [];
        const stab: number[] = [];
        for (let n = 0; n < N; n++) {
          const x = Math.floor(xy[2 * n]);
          const y = Math.floor(xy[2 * n + 1]);
          const hit = masks.find(
            (m) => x >= 0 && y >= 0 && x < m.width && y < m.height && m.data[y * m.width + x],
          );
          if (!hit) {
            rows.push(torch.full([1, 3, r, r], -8));
            stab.push(0, 0, 0);
            continue;
          }
          const [h, w] = resizedShape([hit.height, hit.width], L);
          const lv = threeLevels(hit, this.radius).map((m) =>
            torch.fromTypedArray(m.data, [1, 1, m.height, m.width]).float(),
          );
          const stack = torch.cat(lv, 1); // [1, 3, H, W]
          const resized = torch.interpolate(stack, { size: [h, w], mode: 'bilinear', alignCorners: false });
          const padded = torch.pad(resized, [0, L - w, 0, L - h]);
          rows.push(torch.avgPool2d(padded, 4).mul(16).sub(8)); // [1, 3, r, r] logits in [-8, 8]
          stab.push(0.9, 1, 0.9);
        }
        return {
          lowResLogits: torch.cat(rows, 0),
          iou: torch.tensor(stab, { dtype: 'float32' }).reshape(N, 3),
          stability: torch.tensor(stab, { dtype: 'float32' }).reshape(N, 3),
        };
      }),
    );
  }
}

/** Decodes a prepared label's three masks into [3, H, W] planes (0/1). */
export function labelMasks(l: PreparedLabel): BinaryMask[] {
  return l.masks.map((m) => decode(m));
}
