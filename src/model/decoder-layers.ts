// The three sub-layers of Mask2Former's masked-attention decoder, post-norm as Mask2Former trains them
// (x = norm(x + sublayer(x))), sequence-first tensors [L, B, C] like its nn.MultiheadAttention calls.
// Dropout is left out: Mask2Former's decoder uses 0.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { LayerNorm, Linear, Module, MultiheadAttention, init } from '../engine/nn/index.ts';

// Mask2Former xavier-initialises every matrix of these layers (in_proj already is).
function xavierAll(m: Module): void {
  for (const p of m.parameters()) if (p.dim() > 1) init.xavierUniform_(p);
}

/** Keys: multihead_attn.*, norm.* */
export class CrossAttentionLayer extends Module {
  readonly multiheadAttn: MultiheadAttention;
  readonly norm: LayerNorm;
  constructor(dModel: number, nHeads: number) {
    super();
    this.multiheadAttn = this.registerModule('multihead_attn', new MultiheadAttention(dModel, nHeads));
    this.norm = this.registerModule('norm', new LayerNorm(dModel));
    xavierAll(this);
  }
  /**
   * tgt [Q, B, C], memory [S, B, C], memoryMask [B*heads, Q, S] bool (true = may not attend) or null,
   * pos [S, B, C], queryPos [Q, B, C] -> [Q, B, C]
   */
  forward(tgt: Tensor, memory: Tensor, memoryMask: Tensor | null, pos: Tensor, queryPos: Tensor): Tensor {
    return torch.tidy(() => {
      const [out] = this.multiheadAttn.forward(tgt.add(queryPos), memory.add(pos), memory, {
        attnMask: memoryMask,
        needWeights: false,
      });
      return this.norm.forward(tgt.add(out));
    });
  }
}

/** Keys: self_attn.*, norm.* */
export class SelfAttentionLayer extends Module {
  readonly selfAttn: MultiheadAttention;
  readonly norm: LayerNorm;
  constructor(dModel: number, nHeads: number) {
    super();
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(dModel, nHeads));
    this.norm = this.registerModule('norm', new LayerNorm(dModel));
    xavierAll(this);
  }
  /** tgt [Q, B, C], queryPos [Q, B, C] -> [Q, B, C] */
  forward(tgt: Tensor, queryPos: Tensor): Tensor {
    return torch.tidy(() => {
      const q = tgt.add(queryPos);
      const [out] = this.selfAttn.forward(q, q, tgt, { needWeights: false });
      return this.norm.forward(tgt.add(out));
    });
  }
}

/** Keys: linear1.*, linear2.*, norm.* */
export class FFNLayer extends Module {
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm: LayerNorm;
  constructor(dModel: number, dimFeedforward: number) {
    super();
    this.linear1 = this.registerModule('linear1', new Linear(dModel, dimFeedforward));
    this.linear2 = this.registerModule('linear2', new Linear(dimFeedforward, dModel));
    this.norm = this.registerModule('norm', new LayerNorm(dModel));
    xavierAll(this);
  }
  /** tgt [Q, B, C] -> [Q, B, C] */
  forward(tgt: Tensor): Tensor {
    return torch.tidy(() =>
      this.norm.forward(tgt.add(this.linear2.forward(this.linear1.forward(tgt).relu()))),
    );
  }
}
