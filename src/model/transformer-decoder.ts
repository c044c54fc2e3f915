// Mask2Former's masked-attention transformer decoder (MultiScaleMaskedTransformerDecoder). Learnable query
// features and query positions; the 3 multi-scale maps (with sine positions and a learned level embedding)
// are attended round-robin, lowest resolution first. Each layer: masked cross-attention -> self-attention
// -> FFN. The cross-attention mask is the previous prediction's mask resized to the attended level,
// sigmoid < 0.5 blocked; a query whose whole row would be blocked attends everywhere instead. Predictions
// (after the shared decoder_norm) are made before the first layer and after each layer (deep supervision).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { Conv2d, Embedding, Identity, LayerNorm, Module, ModuleList, init } from '../engine/nn/index.ts';
import { CrossAttentionLayer, FFNLayer, SelfAttentionLayer } from './decoder-layers.ts';
import { ClassHead } from './heads/class-head.ts';
import { MaskHead } from './heads/mask-head.ts';
import { PromptHead, type PromptLatents } from './heads/prompt-head.ts';
import { sinePositionEncoding } from './position-encoding.ts';

export interface TransformerDecoderOptions {
  /** Width of the pixel decoder's multi-scale maps (a 1x1 projection is added when it differs from hiddenDim). */
  inChannels: number;
  numClasses: number;
  hiddenDim: number;
  numQueries: number;
  nHeads: number;
  dimFeedforward: number;
  /** Decoder layers (9 in paper configs). */
  decLayers: number;
  maskDim: number;
  /** SAM's prompt-embedding width Dp (256 for real SAM). */
  promptDim: number;
  /** Layers of the mask and prompt MLPs (3). */
  headLayers?: number;
}

/** One set of predictions (Eq. 8 and 10) from one decoder stage. */
export interface LayerPrediction {
  /** [B, Q, C + 1] */
  predLogits: Tensor;
  /** [B, Q, H/4, W/4] */
  predMasks: Tensor;
  /** { point, box } [B, Q, 2, Dp] */
  predPrompts: PromptLatents;
}

const NUM_LEVELS = 3;

export class MaskedTransformerDecoder extends Module {
  readonly queryFeat: Embedding;
  readonly queryEmbed: Embedding;
  readonly levelEmbed: Embedding;
  readonly inputProj: ModuleList<Module & { forward(x: Tensor): Tensor }>;
  readonly crossLayers: ModuleList<CrossAttentionLayer>;
  readonly selfLayers: ModuleList<SelfAttentionLayer>;
  readonly ffnLayers: ModuleList<FFNLayer>;
  readonly decoderNorm: LayerNorm;
  readonly classEmbed: ClassHead;
  readonly maskEmbed: MaskHead;
  readonly promptEmbed: PromptHead;

  constructor(readonly options: TransformerDecoderOptions) {
    super();
    const o = options;
    const d = o.hiddenDim;
    if (d % 2 !== 0) throw new Error(`MaskedTransformerDecoder: hiddenDim must be even, got ${d}`);
    // registration order follows Mask2Former's module, so state dicts list keys in the same order
    this.selfLayers = this.registerModule(
      'transformer_self_attention_layers',
      new ModuleList(Array.from({ length: o.decLayers }, () => new SelfAttentionLayer(d, o.nHeads))),
    );
    this.crossLayers = this.registerModule(
      'transformer_cross_attention_layers',
      new ModuleList(Array.from({ length: o.decLayers }, () => new CrossAttentionLayer(d, o.nHeads))),
    );
    this.ffnLayers = this.registerModule(
      'transformer_ffn_layers',
      new ModuleList(Array.from({ length: o.decLayers }, () => new FFNLayer(d, o.dimFeedforward))),
    );
    this.decoderNorm = this.registerModule('decoder_norm', new LayerNorm(d));
    this.queryFeat = this.registerModule('query_feat', new Embedding(o.numQueries, d));
    this.queryEmbed = this.registerModule('query_embed', new Embedding(o.numQueries, d));
    this.levelEmbed = this.registerModule('level_embed', new Embedding(NUM_LEVELS, d));
    this.inputProj = this.registerModule(
      'input_proj',
      new ModuleList(
        Array.from({ length: NUM_LEVELS }, () => {
          if (o.inChannels === d) return new Identity();
          const conv = new Conv2d(o.inChannels, d, 1);
          init.kaimingUniform_(conv.weight, 1);
          init.constant_(conv.bias!, 0);
          return conv;
        }),
      ),
    );
    this.classEmbed = this.registerModule('class_embed', new ClassHead(d, o.numClasses));
    this.maskEmbed = this.registerModule('mask_embed', new MaskHead(d, o.maskDim, o.headLayers ?? 3));
    this.promptEmbed = this.registerModule('prompt_embed', new PromptHead(d, o.promptDim, o.headLayers ?? 3));
  }

  /**
   * multiScale: 3 maps [B, inChannels, h_l, w_l] (lowest resolution first), maskFeatures [B, maskDim, H/4, W/4]
   * -> decLayers + 1 predictions, the last one final.
   */
  forward(multiScale: Tensor[], maskFeatures: Tensor): LayerPrediction[] {
    if (multiScale.length !== NUM_LEVELS) {
      throw new Error(
        `MaskedTransformerDecoder: expected ${NUM_LEVELS} multi-scale maps, got ${multiScale.length}`,
      );
    }
    const o = this.options;
    const d = o.hiddenDim;
    return torch.tidy(() => {
      const b = multiScale[0].shape[0];
      const sizes: [number, number][] = multiScale.map((x) => [x.shape[2], x.shape[3]]);
      // [B, C, h, w] -> [hw, B, C]
      const seqFirst = (x: Tensor): Tensor => x.flatten(2).permute(2, 0, 1);
      const pos = multiScale.map((x) => seqFirst(sinePositionEncoding(x, d / 2)));
      const src = multiScale.map((x, l) =>
        seqFirst(
          this.inputProj
            .at(l)
            .forward(x)
            .add(this.levelEmbed.weight.select(0, l).view(1, d, 1, 1)),
        ),
      );
      // [Q, C] -> [Q, B, C]
      const queryPos = this.queryEmbed.weight.unsqueeze(1).expand(o.numQueries, b, d);
      let output = this.queryFeat.weight.unsqueeze(1).expand(o.numQueries, b, d);

      const predictions: LayerPrediction[] = [];
      let { prediction, attnMask } = this.predict(output, maskFeatures, sizes[0]);
      predictions.push(prediction);
      for (let i = 0; i < o.decLayers; i++) {
        const level = i % NUM_LEVELS;
        output = this.crossLayers.at(i).forward(output, src[level], attnMask, pos[level], queryPos);
        output = this.selfLayers.at(i).forward(output, queryPos);
        output = this.ffnLayers.at(i).forward(output);
        ({ prediction, attnMask } = this.predict(output, maskFeatures, sizes[(i + 1) % NUM_LEVELS]));
        predictions.push(prediction);
      }
      return predictions;
    });
  }

  /**
   * output [Q, B, C], maskFeatures [B, maskDim, H, W] -> predictions and the next cross-attention mask
   * [B*heads, Q, h*w] bool (true = blocked) at `target` = [h, w].
   */
  private predict(
    output: Tensor,
    maskFeatures: Tensor,
    target: [number, number],
  ): { prediction: LayerPrediction; attnMask: Tensor } {
    return torch.tidy(() => {
      const q = this.decoderNorm.forward(output).transpose(0, 1); // [B, Q, C]
      const predLogits = this.classEmbed.forward(q);
      const predMasks = this.maskEmbed.predict(q, maskFeatures);
      const predPrompts = this.promptEmbed.forward(q);
      const attnMask = torch.noGrad(() => {
        const [b, nq] = predMasks.shape;
        const h = this.options.nHeads;
        const small = torch.interpolate(predMasks.detach(), {
          size: target,
          mode: 'bilinear',
          alignCorners: false,
        });
        let blocked = small.sigmoid().flatten(2).lt(0.5); // [B, Q, hw]
        // a row with nothing to attend to would give NaN; Mask2Former unmasks it
        const full = blocked.all(-1, true);
        blocked = blocked.logicalAnd(full.logicalNot());
        return blocked
          .unsqueeze(1)
          .expand(b, h, nq, target[0] * target[1])
          .reshape(b * h, nq, target[0] * target[1]);
      });
      return { prediction: { predLogits, predMasks, predPrompts }, attnMask };
    });
  }
}
