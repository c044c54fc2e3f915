// One training (or evaluation) batch for the teacher from the synthetic dataset: scenes generated on demand
// (scene i of a seed is always the same), each scene's image preprocessed as SamPredictor does, and one
// prompt per sampled instance, grouped by kind so each group is one decoder call with equal token counts.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { generateScene, type SynthOptions } from '../../data/synth/index.ts';
import { Rng, mix32 } from '../../data/synth/rng.ts';
import { applyBoxes, applyCoords, preprocessImage, type PixelStats } from '../preprocess.ts';
import { samplePrompt, type MaskPrompt, type PromptKind, type PromptMix } from './prompts.ts';

export interface PromptGroup {
  kind: PromptKind;
  /** [P] int64: which image of the batch each prompt is on. */
  imageIndex: Tensor;
  /** [P, n, 2] input-frame coordinates and [P, n] labels (points), or null. */
  coords: Tensor | null;
  labels: Tensor | null;
  /** [P, 4] input-frame boxes, or null. */
  boxes: Tensor | null;
  /** [P, 1, 4h, 4w] ground truth in the decoder's low-resolution frame: the fraction of each cell inside the mask. */
  targets: Tensor;
  /** The prompts in the original frame (for reports and tests). */
  prompts: MaskPrompt[];
}

export interface TeachBatch {
  /** [N, 3, L, L] normalised, padded images. */
  images: Tensor;
  originalSize: [number, number];
  inputSize: [number, number];
  groups: PromptGroup[];
}

export interface BatchSpec {
  seed: number;
  /** Scene indices to use. */
  indices: number[];
  /** Scene side in pixels (every scene of a batch has the same size). */
  size: number;
  maxPromptsPerImage: number;
  mix: PromptMix;
  imgSize: number;
  /** Side of the decoder's low-resolution masks (4 x the embedding side). */
  lowResSize: number;
  pixel: PixelStats;
  synth?: Partial<SynthOptions>;
}

/** Builds a batch; the caller owns (disposes) its tensors. */
export function makeBatch(spec: BatchSpec): TeachBatch {
  const inputs: Tensor[] = [];
  const byKind = new Map<PromptKind, { img: number[]; prompts: MaskPrompt[]; masks: Uint8Array[] }>();
  let originalSize: [number, number] = [spec.size, spec.size];
  let inputSize: [number, number] = [spec.size, spec.size];
  try {
    spec.indices.forEach((sceneIndex, n) => {
      const scene = generateScene(spec.seed, sceneIndex, { ...spec.synth, size: spec.size });
      const pre = preprocessImage(
        { data: scene.image, width: scene.width, height: scene.height },
        spec.imgSize,
        spec.pixel,
      );
      inputs.push(pre.tensor);
      originalSize = pre.originalSize;
      inputSize = pre.inputSize;
      // The prompt randomness depends on (seed, scene) only, so a batch is reproducible on its own.
      const rng = new Rng(mix32(mix32(spec.seed, 0x7ea), sceneIndex));
      const order = scene.instances.map((_, j) => j);
      for (let j = order.length - 1; j > 0; j--) {
        const r = rng.int(0, j);
        [order[j], order[r]] = [order[r], order[j]];
      }
      for (const j of order.slice(0, spec.maxPromptsPerImage)) {
        const mask = scene.instances[j].mask;
        const prompt = samplePrompt(mask, scene.width, scene.height, rng, spec.mix);
        let g = byKind.get(prompt.kind);
        if (!g) byKind.set(prompt.kind, (g = { img: [], prompts: [], masks: [] }));
        g.img.push(n);
        g.prompts.push(prompt);
        g.masks.push(mask);
      }
    });
    const images = torch.cat(inputs, 0);
    const groups: PromptGroup[] = [];
    for (const kind of ['point', 'box', 'points'] as const) {
      const g = byKind.get(kind);
      if (g) groups.push(groupTensors(kind, g.img, g.prompts, g.masks, originalSize, inputSize, spec));
    }
    return { images, originalSize, inputSize, groups };
  } finally {
    for (const t of inputs) t.dispose();
  }
}

function groupTensors(
  kind: PromptKind,
  img: number[],
  prompts: MaskPrompt[],
  masks: Uint8Array[],
  hw: [number, number],
  inHW: [number, number],
  spec: Pick<BatchSpec, 'imgSize' | 'lowResSize'>,
): PromptGroup {
  const P = prompts.length;
  const L = spec.imgSize;
  const R = spec.lowResSize;
  const t = new Float32Array(P * R * R);
  masks.forEach((m, p) => lowResTarget(m, hw, inHW, L, R, t.subarray(p * R * R, (p + 1) * R * R)));
  let coords: Tensor | null = null;
  let labels: Tensor | null = null;
  let boxes: Tensor | null = null;
  if (kind === 'box') {
    boxes = torch.fromTypedArray(
      applyBoxes(
        prompts.flatMap((p) => p.box!),
        hw,
        L,
      ),
      [P, 4],
    );
  } else {
    const n = prompts[0].points.length;
    coords = torch.fromTypedArray(
      applyCoords(
        prompts.flatMap((p) => p.points.flat()),
        hw,
        L,
      ),
      [P, n, 2],
    );
    labels = torch.ones([P, n], { dtype: 'int64' });
  }
  return {
    kind,
    imageIndex: torch.tensor(img, { dtype: 'int64' }),
    coords,
    labels,
    boxes,
    targets: torch.fromTypedArray(t, [P, 1, R, R]),
    prompts,
  };
}

const SUB = 4; // 4 x 4 samples per low-resolution cell

/**
 * An original-frame mask [H, W] as the decoder's R x R low-resolution frame sees it: R cells cover the
 * padded L x L input, of which the resized image is the top-left inH x inW; each cell gets the fraction of
 * its 4 x 4 sample points (mapped back to the original frame) that fall inside the mask, 0 in the padding.
 * Training on these (instead of upsampled logits) keeps the loss at the decoder's own resolution.
 */
export function lowResTarget(
  mask: Uint8Array,
  hw: readonly [number, number],
  inHW: readonly [number, number],
  L: number,
  R: number,
  out: Float32Array = new Float32Array(R * R),
): Float32Array {
  const [H, W] = hw;
  const [inH, inW] = inHW;
  const cell = L / R;
  const rows: number[] = [];
  const cols: number[] = [];
  for (let i = 0; i < R * SUB; i++) {
    const v = (i + 0.5) * (cell / SUB); // input-frame coordinate of the sample
    rows.push(v < inH ? Math.min(H - 1, Math.floor((v * H) / inH)) : -1);
    cols.push(v < inW ? Math.min(W - 1, Math.floor((v * W) / inW)) : -1);
  }
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < R; c++) {
      let n = 0;
      for (let a = 0; a < SUB; a++) {
        const y = rows[r * SUB + a];
        if (y < 0) continue;
        for (let b = 0; b < SUB; b++) {
          const x = cols[c * SUB + b];
          if (x >= 0 && mask[y * W + x] !== 0) n++;
        }
      }
      out[r * R + c] = n / (SUB * SUB);
    }
  }
  return out;
}

export function disposeBatch(b: TeachBatch): void {
  b.images.dispose();
  for (const g of b.groups) {
    for (const t of [g.imageIndex, g.coords, g.labels, g.boxes, g.targets]) t?.dispose();
  }
}
