// SamPredictor: the official predictor's API in camelCase. setImage runs the image encoder once; predict
// decodes one prompt set in the original image's frame; predictTorch decodes MANY prompts at once from
// input-frame coordinates (what training needs), optionally stopping at the low-resolution logits.
// decodePrompts is the stateless core, for callers that hold cached embeddings themselves.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { loadImage } from '../data/image/io.ts';
import type { RgbImage } from '../data/image/types.ts';
import { stabilityScore } from './postprocess.ts';
import { applyBoxes, applyCoords, preprocessImage, resizedShape } from './preprocess.ts';
import type { Sam } from './sam.ts';

/** Sizes that tie an image embedding to its image. */
export interface ImageSizes {
  /** [H, W] of the original image. */
  originalSize: [number, number];
  /** [h, w] after the longest-side resize (the valid region of the L x L input). */
  inputSize: [number, number];
}

export interface DecodeOptions {
  /** [B, N, 2] point (x, y) in the INPUT frame (after applyCoords), or null. */
  pointCoords?: Tensor | null;
  /** [B, N] labels: 1 foreground, 0 background, -1 ignored. */
  pointLabels?: Tensor | null;
  /** [B, 4] boxes (x0, y0, x1, y1) in the input frame, or null. */
  boxes?: Tensor | null;
  /** [B, 1, 4h, 4w] low-resolution mask logits fed back as a prompt, or null. */
  maskInput?: Tensor | null;
  /** Tokens 1..3 (three masks) when true (default), token 0 (one mask) when false. */
  multimaskOutput?: boolean;
  /** Return full-resolution logits instead of binary masks. */
  returnLogits?: boolean;
  /** Skip the full-resolution masks; stability scores are then computed on the low-res logits. */
  lowResOnly?: boolean;
  /** Prompts per decoder call; bounds memory (ViT-B: ~30 MB per prompt in flight, measured). Default 32. */
  chunkSize?: number;
}

export interface BatchPrediction {
  /** [B, k, H, W]: bool masks, or float32 logits with returnLogits; absent with lowResOnly. */
  masks?: Tensor;
  /** [B, k] predicted IoU (no sigmoid). */
  iouPredictions: Tensor;
  /** [B, k, 4h, 4w] logits before upscaling. */
  lowResLogits: Tensor;
  /** [B, k] stability scores (threshold = the model's mask threshold, offset 1). */
  stabilityScores: Tensor;
}

export interface PredictOptions {
  /** N points (x, y) in the ORIGINAL image frame. */
  pointCoords?: number[][] | null;
  /** N labels (1 foreground, 0 background). */
  pointLabels?: number[] | null;
  /** One box [x0, y0, x1, y1] in the original frame. */
  box?: number[] | null;
  /** [1, 4h, 4w] low-resolution logits from an earlier prediction (e.g. the best lowResLogits). */
  maskInput?: Tensor | null;
  multimaskOutput?: boolean;
  returnLogits?: boolean;
}

export interface Prediction {
  /** [k, H, W]: bool, or float32 logits with returnLogits. */
  masks: Tensor;
  /** [k] */
  iouPredictions: Tensor;
  /** [k, 4h, 4w] */
  lowResLogits: Tensor;
  /** [k] */
  stabilityScores: Tensor;
}

export const STABILITY_OFFSET = 1;

/**
 * Decodes B prompts against one image embedding [1, D, h, w] (or one per prompt, [B, D, h, w]). Prompt
 * coordinates are in the input frame. The result tensors belong to the caller.
 */
export function decodePrompts(
  model: Sam,
  imageEmbeddings: Tensor,
  sizes: ImageSizes,
  opts: DecodeOptions,
): BatchPrediction {
  const { pointCoords = null, pointLabels = null, boxes = null, maskInput = null } = opts;
  if ((pointCoords === null) !== (pointLabels === null)) {
    throw new Error('SAM predict: pointCoords and pointLabels go together');
  }
  const sizesOf = [pointCoords?.size(0), boxes?.size(0), maskInput?.size(0)].filter(
    (b): b is number => b !== undefined,
  );
  if (sizesOf.length === 0) throw new Error('SAM predict: give points, a box or a mask input');
  const B = sizesOf[0];
  if (sizesOf.some((b) => b !== B)) {
    throw new Error(
      `SAM predict: points, boxes and masks disagree on the number of prompts (${sizesOf.join(', ')})`,
    );
  }
  if (imageEmbeddings.size(0) !== 1 && imageEmbeddings.size(0) !== B) {
    throw new Error(
      `SAM predict: ${imageEmbeddings.size(0)} image embeddings for ${B} prompts (need 1 or ${B})`,
    );
  }
  const chunk = opts.chunkSize ?? 32;
  if (!Number.isInteger(chunk) || chunk <= 0)
    throw new Error(`SAM predict: chunkSize must be a positive integer`);
  const multimask = opts.multimaskOutput ?? true;
  const thr = model.maskThreshold;
  const device = model.device;
  const onDevice = (t: Tensor | null): Tensor | null => (t === null ? null : t.to(device));

  return torch.noGrad(() =>
    torch.tidy(() => {
      const imagePe = model.promptEncoder.getDensePe(); // [1, D, h, w]
      const emb = onDevice(imageEmbeddings)!;
      const parts: BatchPrediction[] = [];
      for (let s = 0; s < B; s += chunk) {
        const n = Math.min(chunk, B - s);
        const part = (t: Tensor | null): Tensor | null => (t === null ? null : t.narrow(0, s, n));
        parts.push(
          torch.tidy(() => {
            const coords = onDevice(part(pointCoords));
            const { sparse, dense } = model.promptEncoder.forward({
              points: coords ? { coords, labels: onDevice(part(pointLabels))! } : null,
              boxes: onDevice(part(boxes)),
              masks: onDevice(part(maskInput)),
            });
            const { masks: low, iouPred } = model.maskDecoder.forward(
              {
                imageEmbeddings: emb.size(0) === 1 ? emb : emb.narrow(0, s, n),
                imagePe,
                sparsePromptEmbeddings: sparse,
                // Without a mask prompt every row has the same dense map: keep batch 1 (shared keys).
                densePromptEmbeddings: maskInput === null ? dense.narrow(0, 0, 1) : dense,
              },
              multimask,
            );
            if (opts.lowResOnly) {
              return {
                iouPredictions: iouPred,
                lowResLogits: low,
                stabilityScores: stabilityScore(low, thr, STABILITY_OFFSET),
              };
            }
            const full = model.postprocessMasks(low, sizes.inputSize, sizes.originalSize);
            return {
              masks: opts.returnLogits ? full : full.gt(thr),
              iouPredictions: iouPred,
              lowResLogits: low,
              stabilityScores: stabilityScore(full, thr, STABILITY_OFFSET),
            };
          }),
        );
      }
      const cat = (key: keyof BatchPrediction): Tensor =>
        parts.length === 1
          ? parts[0][key]!
          : torch.cat(
              parts.map((p) => p[key]!),
              0,
            );
      const out: BatchPrediction = {
        iouPredictions: cat('iouPredictions'),
        lowResLogits: cat('lowResLogits'),
        stabilityScores: cat('stabilityScores'),
      };
      if (!opts.lowResOnly) out.masks = cat('masks');
      return out;
    }),
  );
}

export class SamPredictor {
  private features: Tensor | null = null;
  private sizes: ImageSizes | null = null;

  constructor(readonly model: Sam) {
    model.eval();
  }

  get isImageSet(): boolean {
    return this.features !== null;
  }
  get originalSize(): [number, number] {
    return [...this.requireSizes().originalSize];
  }
  get inputSize(): [number, number] {
    return [...this.requireSizes().inputSize];
  }

  /** Computes the image embedding of an RGB uint8 image (H x W x 3) or of an image file. */
  async setImage(image: RgbImage | string): Promise<void> {
    const img = typeof image === 'string' ? await loadImage(image) : image;
    this.setRgbImage(img);
  }

  /** Synchronous setImage for an image already in memory. */
  setRgbImage(img: RgbImage): void {
    const L = this.model.imgSize;
    const cfg = { pixelMean: this.pixelStat('pixelMean'), pixelStd: this.pixelStat('pixelStd') };
    const input = preprocessImage(img, L, cfg);
    try {
      const emb = torch.noGrad(() => this.model.encodeImage(input.tensor.to(this.model.device)));
      this.install(emb, { originalSize: input.originalSize, inputSize: input.inputSize });
    } finally {
      input.tensor.dispose();
    }
  }

  /** A copy of the current image embedding [1, D, h, w] (caller owns it). */
  getImageEmbedding(): Tensor {
    if (!this.features)
      throw new Error('SamPredictor: no image set (call setImage or setImageEmbedding first)');
    return this.features.clone();
  }

  /**
   * Uses a cached embedding ([1, D, h, w] or [D, h, w]) of an image of `originalSize`; `inputSize`
   * defaults to the longest-side resize of originalSize. The tensor is copied.
   */
  setImageEmbedding(
    embedding: Tensor,
    sizes: { originalSize: [number, number]; inputSize?: [number, number] },
  ): void {
    const emb = embedding.ndim === 3 ? embedding.unsqueeze(0) : embedding;
    const [h, w] = this.model.promptEncoder.imageEmbeddingSize;
    const D = this.model.promptEncoder.embedDim;
    const s = emb.shape;
    if (s.length !== 4 || s[0] !== 1 || s[1] !== D || s[2] !== h || s[3] !== w) {
      throw new Error(
        `SamPredictor.setImageEmbedding: expected [1, ${D}, ${h}, ${w}], got [${embedding.shape.join(', ')}]`,
      );
    }
    const inputSize = sizes.inputSize ?? resizedShape(sizes.originalSize, this.model.imgSize);
    const want = resizedShape(sizes.originalSize, this.model.imgSize);
    if (inputSize[0] !== want[0] || inputSize[1] !== want[1]) {
      throw new Error(
        `SamPredictor.setImageEmbedding: input size ${inputSize.join('x')} is not the resize of ${sizes.originalSize.join('x')} (${want.join('x')})`,
      );
    }
    const copy = torch.noGrad(() => emb.to({ device: this.model.device, dtype: 'float32', copy: true }));
    if (emb !== embedding) emb.dispose();
    this.install(copy, { originalSize: [...sizes.originalSize], inputSize: [...inputSize] });
  }

  resetImage(): void {
    this.features?.dispose();
    this.features = null;
    this.sizes = null;
  }

  /** Original-frame points [N][2] -> input-frame [N, 2] tensor (float32, as the official predictor). */
  transformCoords(coords: number[][]): Tensor {
    const flat = coords.flatMap((p, i) => {
      if (p.length !== 2)
        throw new Error(`SAM predict: point ${i} has ${p.length} numbers, expected 2 (x, y)`);
      return p;
    });
    return torch.fromTypedArray(applyCoords(flat, this.requireSizes().originalSize, this.model.imgSize), [
      coords.length,
      2,
    ]);
  }

  /** Original-frame boxes [N][4] -> input-frame [N, 4] tensor. */
  transformBoxes(boxes: number[][]): Tensor {
    const flat = boxes.flatMap((b, i) => {
      if (b.length !== 4)
        throw new Error(`SAM predict: box ${i} has ${b.length} numbers, expected 4 (x0, y0, x1, y1)`);
      return b;
    });
    return torch.fromTypedArray(applyBoxes(flat, this.requireSizes().originalSize, this.model.imgSize), [
      boxes.length,
      4,
    ]);
  }

  /** One prompt set in the original frame -> masks for it (see Prediction). */
  predict(opts: PredictOptions = {}): Prediction {
    return torch.tidy(() => {
      const r = this.predictTorch({
        ...this.promptTensors(opts),
        multimaskOutput: opts.multimaskOutput ?? true,
        returnLogits: opts.returnLogits ?? false,
      });
      return {
        masks: r.masks!.squeeze(0),
        iouPredictions: r.iouPredictions.squeeze(0),
        lowResLogits: r.lowResLogits.squeeze(0),
        stabilityScores: r.stabilityScores.squeeze(0),
      };
    });
  }

  /**
   * The prompt encoder's output for a predict() prompt set: sparse [1, N, D] (points, then the pad point
   * or the box corners) and dense [1, D, h, w].
   */
  promptEmbeddings(opts: PredictOptions): { sparse: Tensor; dense: Tensor } {
    return torch.noGrad(() =>
      torch.tidy(() => {
        const p = this.promptTensors(opts);
        const dev = (t: Tensor | null): Tensor | null => (t === null ? null : t.to(this.model.device));
        return this.model.promptEncoder.forward({
          points: p.pointCoords ? { coords: dev(p.pointCoords)!, labels: dev(p.pointLabels)! } : null,
          boxes: dev(p.boxes),
          masks: dev(p.maskInput),
        });
      }),
    );
  }

  /** Validates a predict() prompt set and maps it to batch-1 input-frame tensors. */
  private promptTensors(opts: PredictOptions): {
    pointCoords: Tensor | null;
    pointLabels: Tensor | null;
    boxes: Tensor | null;
    maskInput: Tensor | null;
  } {
    const { pointCoords = null, pointLabels = null, box = null, maskInput = null } = opts;
    if ((pointCoords === null) !== (pointLabels === null)) {
      throw new Error('SAM predict: pointLabels must be given with pointCoords');
    }
    if (pointCoords && pointLabels && pointCoords.length !== pointLabels.length) {
      throw new Error(`SAM predict: ${pointCoords.length} points but ${pointLabels.length} labels`);
    }
    if (pointLabels?.some((l) => l !== 0 && l !== 1 && l !== -1)) {
      throw new Error(`SAM predict: point labels must be 1, 0 or -1, got [${pointLabels.join(', ')}]`);
    }
    if (box && box.length !== 4)
      throw new Error(`SAM predict: box must be [x0, y0, x1, y1], got ${box.length} numbers`);
    const [mh, mw] = this.model.promptEncoder.maskInputSize;
    let mask: Tensor | null = null;
    if (maskInput) {
      const s = maskInput.shape;
      const ok =
        (s.length === 3 && s[0] === 1 && s[1] === mh && s[2] === mw) ||
        (s.length === 2 && s[0] === mh && s[1] === mw);
      if (!ok) throw new Error(`SAM predict: maskInput must be [1, ${mh}, ${mw}], got [${s.join(', ')}]`);
      mask = maskInput.reshape(1, 1, mh, mw);
    }
    return {
      pointCoords: pointCoords ? this.transformCoords(pointCoords).unsqueeze(0) : null,
      pointLabels: pointLabels ? torch.tensor([pointLabels], { dtype: 'int64' }) : null,
      boxes: box ? this.transformBoxes([box]) : null,
      maskInput: mask,
    };
  }

  /** Many prompts at once, coordinates already in the input frame (see decodePrompts). */
  predictTorch(opts: DecodeOptions): BatchPrediction {
    if (!this.features)
      throw new Error('SamPredictor: no image set (call setImage or setImageEmbedding first)');
    return decodePrompts(this.model, this.features, this.requireSizes(), opts);
  }

  /** Frees the stored embedding (the model is not the predictor's to free). */
  dispose(): void {
    this.resetImage();
  }

  private install(emb: Tensor, sizes: ImageSizes): void {
    this.resetImage();
    this.features = torch.keep(emb);
    this.sizes = sizes;
  }

  private requireSizes(): ImageSizes {
    if (!this.sizes) throw new Error('SamPredictor: no image set (call setImage or setImageEmbedding first)');
    return this.sizes;
  }

  private pixelStat(which: 'pixelMean' | 'pixelStd'): [number, number, number] {
    const v = Array.from(
      (which === 'pixelMean' ? this.model.pixelMean : this.model.pixelStd).toFloat32Array(),
    );
    return [v[0], v[1], v[2]];
  }
}
