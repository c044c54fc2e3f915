// SAM's mask decoder: output tokens (IoU + 4 masks) joined to the prompt tokens run through the two-way
// transformer with the image embedding; the image side is upscaled 4x and each mask token, through its
// own hypernetwork MLP, weights the upscaled channels per pixel. Keys follow the official module
// (iou_token, mask_tokens, output_upscaling.{0,1,3}, output_hypernetworks_mlps.<i>, iou_prediction_head).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import {
  ConvTranspose2d,
  Embedding,
  LayerNorm2d,
  MLP,
  Module,
  ModuleList,
  Sequential,
} from '../engine/nn/index.ts';
import { Gelu } from './prompt-encoder.ts';
import type { TwoWayTransformer } from './two-way-transformer.ts';

export interface MaskDecoderOptions {
  /** D, the token / transformer width. */
  transformerDim: number;
  transformer: TwoWayTransformer;
  numMultimaskOutputs?: number;
  iouHeadDepth?: number;
  iouHeadHiddenDim?: number;
}

export interface DecoderInputs {
  /** [1 or B, D, h, w]: one image shared by every prompt, or one image per prompt. */
  imageEmbeddings: Tensor;
  /** [1, D, h, w] (PromptEncoder.getDensePe). */
  imagePe: Tensor;
  /** [B, N, D] */
  sparsePromptEmbeddings: Tensor;
  /** [1 or B, D, h, w] (batch 1: the same dense prompt for every row, e.g. no mask). */
  densePromptEmbeddings: Tensor;
}

/** Every tensor the decoder makes on the way (the parity fixture checks each). */
export interface DecoderTrace {
  /** [B, 1 + M + N, D] the transformer's input tokens */
  tokens: Tensor;
  /** [B, 1 + M + N, D] tokens after the transformer */
  hs: Tensor;
  /** [B, hw, D] image side after the transformer */
  src: Tensor;
  /** [B, D / 8, 4h, 4w] */
  upscaled: Tensor;
  /** [B, M, 4h, 4w] mask logits of every mask token */
  masks: Tensor;
  /** [B, M] predicted IoU of every mask token (no sigmoid) */
  iouPred: Tensor;
}

export class MaskDecoder extends Module {
  readonly transformerDim: number;
  readonly numMaskTokens: number;
  readonly transformer: TwoWayTransformer;
  readonly iouToken: Embedding;
  readonly maskTokens: Embedding;
  readonly outputUpscaling: Sequential;
  readonly outputHypernetworksMlps: ModuleList<MLP>;
  readonly iouPredictionHead: MLP;

  constructor(opts: MaskDecoderOptions) {
    super();
    const d = opts.transformerDim;
    if (d % 8 !== 0) throw new Error(`MaskDecoder: transformerDim ${d} must be a multiple of 8`);
    this.transformerDim = d;
    this.numMaskTokens = (opts.numMultimaskOutputs ?? 3) + 1;
    this.transformer = this.registerModule('transformer', opts.transformer);
    this.iouToken = this.registerModule('iou_token', new Embedding(1, d));
    this.maskTokens = this.registerModule('mask_tokens', new Embedding(this.numMaskTokens, d));
    this.outputUpscaling = this.registerModule(
      'output_upscaling',
      new Sequential(
        new ConvTranspose2d(d, d / 4, 2, { stride: 2 }),
        new LayerNorm2d(d / 4),
        new Gelu(),
        new ConvTranspose2d(d / 4, d / 8, 2, { stride: 2 }),
        new Gelu(),
      ),
    );
    this.outputHypernetworksMlps = this.registerModule(
      'output_hypernetworks_mlps',
      new ModuleList(Array.from({ length: this.numMaskTokens }, () => new MLP(d, d, d / 8, 3))),
    );
    this.iouPredictionHead = this.registerModule(
      'iou_prediction_head',
      new MLP(d, opts.iouHeadHiddenDim ?? 256, this.numMaskTokens, opts.iouHeadDepth ?? 3),
    );
  }

  /**
   * -> masks [B, k, 4h, 4w] and iouPred [B, k]: k = 3 (tokens 1..3) with multimaskOutput, else 1 (token 0).
   * Nothing is chosen by IoU here, as in the official decoder.
   */
  forward(inputs: DecoderInputs, multimaskOutput: boolean): { masks: Tensor; iouPred: Tensor } {
    return torch.tidy(() => {
      const { masks, iouPred } = this.predictMasks(inputs);
      const [start, end] = multimaskOutput ? [1, this.numMaskTokens] : [0, 1];
      return { masks: masks.slice(1, start, end), iouPred: iouPred.slice(1, start, end) };
    });
  }

  /** Runs the decoder and returns every intermediate (all owned by the caller). */
  predictMasks(inputs: DecoderInputs): DecoderTrace {
    return torch.tidy(() => {
      const {
        imageEmbeddings,
        imagePe,
        sparsePromptEmbeddings: sparse,
        densePromptEmbeddings: dense,
      } = inputs;
      const d = this.transformerDim;
      const [B, , sd] = sparse.shape;
      if (sparse.ndim !== 3 || sd !== d) {
        throw new Error(`MaskDecoder: sparse prompts must be [B, N, ${d}], got [${sparse.shape.join(', ')}]`);
      }
      for (const [name, t] of [
        ['image embeddings', imageEmbeddings],
        ['dense prompts', dense],
      ] as const) {
        const b = t.size(0);
        if (t.ndim !== 4 || t.size(1) !== d || (b !== 1 && b !== B)) {
          throw new Error(
            `MaskDecoder: ${name} must be [1 or ${B}, ${d}, h, w], got [${t.shape.join(', ')}]`,
          );
        }
      }
      const output = torch.cat([this.iouToken.weight, this.maskTokens.weight], 0); // [1 + M, D]
      const tokens = torch.cat([output.unsqueeze(0).expand(B, -1, -1), sparse], 1); // [B, T, D]
      // Batch 1 stays batch 1 here (shared by every prompt) until the first image<-token update.
      const src = imageEmbeddings.add(dense); // [1 or B, D, h, w]
      const [, , h, w] = src.shape;
      const { hs, src: keys } = this.transformer.forward(src, imagePe, tokens); // [B, T, D], [B, hw, D]
      const iouTokenOut = hs.select(1, 0); // [B, D]
      const up = this.outputUpscaling.forward(keys.expand(B, -1, -1).transpose(1, 2).reshape(B, d, h, w)); // [B, D/8, 4h, 4w]
      const hyper = torch.stack(
        [...this.outputHypernetworksMlps].map((mlp, i) => mlp.forward(hs.select(1, 1 + i))),
        1,
      ); // [B, M, D/8]
      const [, c, uh, uw] = up.shape;
      const masks = hyper.matmul(up.view(B, c, uh * uw)).view(B, this.numMaskTokens, uh, uw);
      const iouPred = this.iouPredictionHead.forward(iouTokenOut); // [B, M]
      return { tokens, hs, src: keys, upscaled: up, masks, iouPred };
    });
  }
}
