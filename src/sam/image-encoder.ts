// SAM's ViT image encoder (segment_anything/modeling/image_encoder.py): patch embedding, absolute position
// embedding (NHWC), pre-norm transformer blocks (windowed or global attention with decomposed relative
// positions, exact-GELU MLP) and the neck (conv1x1, LN2d, conv3x3, LN2d). State-dict keys are the official
// ones without the `image_encoder.` prefix.
import * as torch from '../engine/index.ts';
import {
  Conv2d,
  LayerNorm,
  LayerNorm2d,
  Linear,
  Module,
  ModuleList,
  Sequential,
} from '../engine/nn/index.ts';
import type { Tensor } from '../engine/index.ts';
import type { SamEncoderConfig } from './config.ts';
import { ViTAttention, windowPartition, windowUnpartition } from './vit-attention.ts';

/** Conv p x p, stride p, with bias. Keys: proj.weight, proj.bias. */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  constructor(patchSize: number, embedDim: number) {
    super();
    this.proj = this.registerModule('proj', new Conv2d(3, embedDim, patchSize, { stride: patchSize }));
  }
  /** x [B, 3, L, L] -> [B, L/p, L/p, C] (channels last) */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.proj.forward(x).permute(0, 2, 3, 1));
  }
}

/** lin1 -> exact GELU -> lin2. Keys: lin1.*, lin2.* */
export class MLPBlock extends Module {
  readonly lin1: Linear;
  readonly lin2: Linear;
  constructor(dim: number, hidden: number) {
    super();
    this.lin1 = this.registerModule('lin1', new Linear(dim, hidden));
    this.lin2 = this.registerModule('lin2', new Linear(hidden, dim));
  }
  /** x [..., C] -> [..., C] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.lin2.forward(torch.gelu(this.lin1.forward(x))));
  }
}

export interface ViTBlockOptions {
  dim: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  useRelPos: boolean;
  eps: number;
  /** 0: global attention over the whole grid. */
  windowSize: number;
  /** Token grid [H/p, W/p]. */
  gridSize: [number, number];
}

/** Pre-norm block: x += attn(norm1 x) (windowed when windowSize > 0), x += mlp(norm2 x). */
export class ViTBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: ViTAttention;
  readonly norm2: LayerNorm;
  readonly mlp: MLPBlock;
  readonly windowSize: number;

  constructor(o: ViTBlockOptions) {
    super();
    this.windowSize = o.windowSize;
    this.norm1 = this.registerModule('norm1', new LayerNorm(o.dim, { eps: o.eps }));
    this.attn = this.registerModule(
      'attn',
      new ViTAttention({
        dim: o.dim,
        numHeads: o.numHeads,
        qkvBias: o.qkvBias,
        useRelPos: o.useRelPos,
        inputSize: o.windowSize > 0 ? [o.windowSize, o.windowSize] : o.gridSize,
      }),
    );
    this.norm2 = this.registerModule('norm2', new LayerNorm(o.dim, { eps: o.eps }));
    const hidden = Math.trunc(o.dim * o.mlpRatio); // int(dim * mlp_ratio), as the reference
    this.mlp = this.registerModule('mlp', new MLPBlock(o.dim, hidden));
  }

  /** x [B, H, W, C] -> [B, H, W, C] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [, H, W] = x.shape;
      let a = this.norm1.forward(x);
      if (this.windowSize > 0) {
        const { windows, padHW } = windowPartition(a, this.windowSize); // [B*nWin, ws, ws, C]
        a = windowUnpartition(this.attn.forward(windows), this.windowSize, padHW, [H, W]);
      } else {
        a = this.attn.forward(a);
      }
      const y = x.add(a);
      return y.add(this.mlp.forward(this.norm2.forward(y)));
    });
  }
}

/** What forwardWithIntermediates returns (all channels-last except the embedding). */
export interface EncoderTrace {
  /** The patch conv's output, before the position embedding is added: [B, H/p, W/p, C]. */
  patchEmbed: Tensor;
  /** Output of each block: [B, H/p, W/p, C]. */
  blocks: Tensor[];
  /** Image embedding [B, D, H/p, W/p]. */
  embedding: Tensor;
}

export class ImageEncoderViT extends Module {
  readonly imgSize: number;
  readonly patchEmbed: PatchEmbed;
  readonly posEmbed: Tensor;
  readonly blocks: ModuleList<ViTBlock>;
  readonly neck: Sequential;

  constructor(cfg: SamEncoderConfig) {
    super();
    this.imgSize = cfg.imgSize;
    const grid = cfg.imgSize / cfg.patchSize;
    if (!Number.isInteger(grid))
      throw new Error(
        `ImageEncoderViT: img_size ${cfg.imgSize} is not a multiple of patch_size ${cfg.patchSize}`,
      );
    const C = cfg.encoderEmbedDim;
    this.patchEmbed = this.registerModule('patch_embed', new PatchEmbed(cfg.patchSize, C));
    // The official module registers pos_embed before patch_embed; key order does not matter for loading.
    this.posEmbed = this.registerParameter('pos_embed', torch.zeros([1, grid, grid, C]));
    const global = new Set(cfg.encoderGlobalAttnIndexes);
    const blocks: ViTBlock[] = [];
    for (let i = 0; i < cfg.encoderDepth; i++) {
      blocks.push(
        new ViTBlock({
          dim: C,
          numHeads: cfg.encoderNumHeads,
          mlpRatio: cfg.encoderMlpRatio,
          qkvBias: cfg.qkvBias,
          useRelPos: cfg.useRelPos,
          eps: cfg.encoderLayernormEps,
          windowSize: global.has(i) ? 0 : cfg.windowSize,
          gridSize: [grid, grid],
        }),
      );
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    const D = cfg.promptEmbedDim;
    this.neck = this.registerModule(
      'neck',
      new Sequential(
        new Conv2d(C, D, 1, { bias: false }),
        new LayerNorm2d(D, 1e-6),
        new Conv2d(D, D, 3, { padding: 1, bias: false }),
        new LayerNorm2d(D, 1e-6),
      ),
    );
  }

  private checkInput(x: Tensor): void {
    const s = x.shape;
    if (s.length !== 4 || s[1] !== 3 || s[2] !== this.imgSize || s[3] !== this.imgSize)
      throw new Error(
        `ImageEncoderViT: expected input [B, 3, ${this.imgSize}, ${this.imgSize}], got [${s.join(', ')}]`,
      );
  }

  /** x [B, 3, L, L] (normalised, padded) -> image embedding [B, D, L/p, L/p] */
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    return torch.tidy(() => {
      let h = this.patchEmbed.forward(x).add(this.posEmbed); // [B, L/p, L/p, C]
      for (const blk of this.blocks) {
        const next = blk.forward(h);
        h.dispose();
        h = next;
      }
      return this.neck.forward(h.permute(0, 3, 1, 2)); // [B, D, L/p, L/p]
    });
  }

  /** forward, also returning the patch embedding and every block's output (for parity checks). */
  forwardWithIntermediates(x: Tensor): EncoderTrace {
    this.checkInput(x);
    return torch.tidy(() => {
      const patchEmbed = this.patchEmbed.forward(x);
      const blocks: Tensor[] = [];
      let h = patchEmbed.add(this.posEmbed);
      for (const blk of this.blocks) {
        h = blk.forward(h);
        blocks.push(h);
      }
      return { patchEmbed, blocks, embedding: this.neck.forward(h.permute(0, 3, 1, 2)) };
    });
  }
}
