// SAM's two-way transformer: prompt tokens and image pixels attend to each other in turn. Post-norm
// blocks (LayerNorm eps 1e-5); cross attention works in D / downsampleRate channels. Key names follow the
// official module (layers.<i>.self_attn.q_proj, ..., final_attn_token_to_image, norm_final_attn).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { LayerNorm, Linear, Module, ModuleList } from '../engine/nn/index.ts';

/** Multi-head attention with separate q/k/v projections into `embeddingDim / downsampleRate` channels. */
export class Attention extends Module {
  readonly internalDim: number;
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly vProj: Linear;
  readonly outProj: Linear;

  constructor(
    readonly embeddingDim: number,
    readonly numHeads: number,
    downsampleRate = 1,
  ) {
    super();
    this.internalDim = Math.floor(embeddingDim / downsampleRate);
    if (this.internalDim % numHeads !== 0) {
      throw new Error(`Attention: internal width ${this.internalDim} is not divisible by ${numHeads} heads`);
    }
    this.qProj = this.registerModule('q_proj', new Linear(embeddingDim, this.internalDim));
    this.kProj = this.registerModule('k_proj', new Linear(embeddingDim, this.internalDim));
    this.vProj = this.registerModule('v_proj', new Linear(embeddingDim, this.internalDim));
    this.outProj = this.registerModule('out_proj', new Linear(this.internalDim, embeddingDim));
  }

  /** [B, N, E] -> [B, heads, N, E / heads]; heads are contiguous channel slices. */
  private separateHeads(x: Tensor): Tensor {
    const [b, n, c] = x.shape;
    return x.reshape(b, n, this.numHeads, c / this.numHeads).transpose(1, 2);
  }

  /** q [B, Nq, D], k [B, Nk, D], v [B, Nk, D] -> [B, Nq, D]. k / v may have batch 1 (shared by every row). */
  forward(q: Tensor, k: Tensor, v: Tensor): Tensor {
    return torch.tidy(() => this.attend(this.qProj.forward(q), this.kProj.forward(k), this.vProj.forward(v)));
  }

  /** The attention on already projected q [B, Nq, I], k / v [B or 1, Nk, I] -> [B, Nq, D]. */
  attend(q: Tensor, k: Tensor, v: Tensor): Tensor {
    return torch.tidy(() => {
      const qh = this.separateHeads(q); // [B, h, Nq, c]
      const kh = this.separateHeads(k); // [B, h, Nk, c]
      const vh = this.separateHeads(v);
      const c = qh.size(-1);
      // Same order as the official code: q kᵀ, then / sqrt(c), softmax, then @ v.
      const attn = qh.matmul(kh.transpose(-2, -1)).div(Math.sqrt(c)).softmax(-1); // [B, h, Nq, Nk]
      const out = attn.matmul(vh); // [B, h, Nq, c]
      const [b, h, n, cc] = out.shape;
      return this.outProj.forward(out.transpose(1, 2).reshape(b, n, h * cc));
    });
  }
}

/** lin2(relu(lin1(x))), keys mlp.lin1 / mlp.lin2 as the official MLPBlock. */
export class MLPBlock extends Module {
  readonly lin1: Linear;
  readonly lin2: Linear;

  constructor(embeddingDim: number, mlpDim: number) {
    super();
    this.lin1 = this.registerModule('lin1', new Linear(embeddingDim, mlpDim));
    this.lin2 = this.registerModule('lin2', new Linear(mlpDim, embeddingDim));
  }

  /** x [*, D] -> [*, D] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.lin2.forward(this.lin1.forward(x).relu()));
  }
}

export interface TwoWayBlockOptions {
  embeddingDim: number;
  numHeads: number;
  mlpDim: number;
  attentionDownsampleRate: number;
  /** Layer 0: self-attention without the token PE whose output replaces the tokens (no residual). */
  skipFirstLayerPe: boolean;
}

export class TwoWayAttentionBlock extends Module {
  readonly selfAttn: Attention;
  readonly norm1: LayerNorm;
  readonly crossAttnTokenToImage: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: MLPBlock;
  readonly norm3: LayerNorm;
  readonly norm4: LayerNorm;
  readonly crossAttnImageToToken: Attention;
  readonly skipFirstLayerPe: boolean;

  constructor(opts: TwoWayBlockOptions) {
    super();
    const { embeddingDim: d, numHeads: h, attentionDownsampleRate: r } = opts;
    this.selfAttn = this.registerModule('self_attn', new Attention(d, h));
    this.norm1 = this.registerModule('norm1', new LayerNorm(d));
    this.crossAttnTokenToImage = this.registerModule('cross_attn_token_to_image', new Attention(d, h, r));
    this.norm2 = this.registerModule('norm2', new LayerNorm(d));
    this.mlp = this.registerModule('mlp', new MLPBlock(d, opts.mlpDim));
    this.norm3 = this.registerModule('norm3', new LayerNorm(d));
    this.norm4 = this.registerModule('norm4', new LayerNorm(d));
    this.crossAttnImageToToken = this.registerModule('cross_attn_image_to_token', new Attention(d, h, r));
    this.skipFirstLayerPe = opts.skipFirstLayerPe;
  }

  /**
   * queries [B, T, D] (tokens), keys [B or 1, HW, D] (pixels), queryPe [B, T, D], keyPe [1, HW, D]
   * -> { queries [B, T, D], keys [B, HW, D] }. Keys of batch 1 are shared by every row (layer 0 with no
   * mask prompt: the token->image projections are then computed once, not once per prompt).
   */
  forward(queries: Tensor, keys: Tensor, queryPe: Tensor, keyPe: Tensor): { queries: Tensor; keys: Tensor } {
    return torch.tidy(() => {
      // 1. self-attention over the tokens
      let t: Tensor;
      if (this.skipFirstLayerPe) {
        t = this.selfAttn.forward(queries, queries, queries);
      } else {
        const q = queries.add(queryPe);
        t = queries.add(this.selfAttn.forward(q, q, queries));
      }
      t = this.norm1.forward(t);
      // 2. tokens attend to the image
      const k = keys.add(keyPe); // [B or 1, HW, D]
      t = this.norm2.forward(t.add(this.crossAttnTokenToImage.forward(t.add(queryPe), k, keys)));
      // 3. MLP on the tokens
      t = this.norm3.forward(t.add(this.mlp.forward(t)));
      // 4. the image attends to the tokens
      const src = this.crossAttnImageToToken.forward(k, t.add(queryPe), t); // [B, HW, D]
      const outKeys = this.norm4.forward(keys.add(src));
      return { queries: t, keys: outKeys };
    });
  }
}

export interface TwoWayTransformerOptions {
  depth: number;
  embeddingDim: number;
  numHeads: number;
  mlpDim: number;
  attentionDownsampleRate?: number;
}

export class TwoWayTransformer extends Module {
  readonly layers: ModuleList<TwoWayAttentionBlock>;
  readonly finalAttnTokenToImage: Attention;
  readonly normFinalAttn: LayerNorm;

  constructor(opts: TwoWayTransformerOptions) {
    super();
    const rate = opts.attentionDownsampleRate ?? 2;
    const blocks: TwoWayAttentionBlock[] = [];
    for (let i = 0; i < opts.depth; i++) {
      blocks.push(
        new TwoWayAttentionBlock({
          embeddingDim: opts.embeddingDim,
          numHeads: opts.numHeads,
          mlpDim: opts.mlpDim,
          attentionDownsampleRate: rate,
          skipFirstLayerPe: i === 0,
        }),
      );
    }
    this.layers = this.registerModule('layers', new ModuleList(blocks));
    this.finalAttnTokenToImage = this.registerModule(
      'final_attn_token_to_image',
      new Attention(opts.embeddingDim, opts.numHeads, rate),
    );
    this.normFinalAttn = this.registerModule('norm_final_attn', new LayerNorm(opts.embeddingDim));
  }

  /**
   * image [B or 1, D, h, w], imagePe [1, D, h, w], tokens [B, T, D]
   * -> { hs: tokens [B, T, D], src: pixels [B, hw, D] }.
   */
  forward(image: Tensor, imagePe: Tensor, tokens: Tensor): { hs: Tensor; src: Tensor } {
    return torch.tidy(() => {
      let keys = image.flatten(2).permute(0, 2, 1); // [B, hw, D]
      const keyPe = imagePe.flatten(2).permute(0, 2, 1); // [1, hw, D]
      let queries = tokens;
      for (const layer of this.layers) {
        ({ queries, keys } = layer.forward(queries, keys, tokens, keyPe));
      }
      const attn = this.finalAttnTokenToImage.forward(queries.add(tokens), keys.add(keyPe), keys);
      const hs = this.normFinalAttn.forward(queries.add(attn));
      return { hs, src: keys };
    });
  }
}
