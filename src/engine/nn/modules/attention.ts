// MultiheadAttention with PyTorch's parameters (in_proj_weight / in_proj_bias packed q|k|v, out_proj) and
// the computation of torch.nn.functional.multi_head_attention_forward: project, split heads, scale q by
// 1/sqrt(head_dim), add the mask, softmax, (dropout), weight the values, merge heads, out_proj.
import { empty, zeros } from '../../creation.ts';
import { dtypeCode } from '../../dtype.ts';
import { N } from '../../native.ts';
import { BIN } from '../../ops/codes.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';
import { constant_, xavierUniform_ } from './init.ts';
import { Linear, checkPositive } from './linear.ts';

export interface MultiheadAttentionOptions {
  dropout?: number;
  bias?: boolean;
  /** Inputs and output are (B, L, E) instead of PyTorch's default (L, B, E). */
  batchFirst?: boolean;
}

export interface AttentionCallOptions {
  /** (B, S) bool, true = this key is padding (ignored). */
  keyPaddingMask?: Tensor | null;
  /** (L, S) or (B*heads, L, S): bool (true = not allowed) or float (added to the scores). */
  attnMask?: Tensor | null;
  /** Also return the attention weights (PyTorch's default: true). */
  needWeights?: boolean;
  /** Weights averaged over heads (B, L, S) (default) or per head (B, heads, L, S). */
  averageAttnWeights?: boolean;
}

export class MultiheadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor | null;
  readonly outProj: Linear;
  readonly headDim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    opts: MultiheadAttentionOptions = {},
  ) {
    super();
    checkPositive('MultiheadAttention', { embedDim, numHeads });
    if (embedDim % numHeads !== 0) {
      throw new Error(`MultiheadAttention: embedDim ${embedDim} is not divisible by numHeads ${numHeads}`);
    }
    this.headDim = embedDim / numHeads;
    this.dropout = opts.dropout ?? 0;
    this.batchFirst = opts.batchFirst ?? false;
    const bias = opts.bias ?? true;
    this.inProjWeight = this.registerParameter(
      'in_proj_weight',
      xavierUniform_(empty([3 * embedDim, embedDim])),
    );
    this.inProjBias = bias ? this.registerParameter('in_proj_bias', zeros([3 * embedDim])) : null;
    this.outProj = this.registerModule('out_proj', new Linear(embedDim, embedDim, { bias }));
    if (this.outProj.bias) constant_(this.outProj.bias, 0);
  }

  /**
   * query: (L, B, E), key/value: (S, B, E) — or (B, L, E) / (B, S, E) with batchFirst.
   * Returns [output (L, B, E) or (B, L, E), weights (B, L, S) / (B, heads, L, S) or null].
   */
  forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    opts: AttentionCallOptions = {},
  ): [Tensor, Tensor | null] {
    const E = this.embedDim;
    const H = this.numHeads;
    const hd = this.headDim;
    const made: Tensor[] = []; // intermediates this call creates and may free early
    const keepT = (t: Tensor): Tensor => (made.push(t), t);
    // Work sequence-first, as PyTorch does.
    let q0 = query;
    let k0 = key;
    let v0 = value;
    if (this.batchFirst) {
      q0 = keepT(N.transpose(query, 0, 1));
      k0 = key === query ? q0 : keepT(N.transpose(key, 0, 1));
      v0 = value === key ? k0 : keepT(N.transpose(value, 0, 1));
    }
    const [L, B, eq] = N.shape(q0);
    const S = N.shape(k0)[0];
    if (eq !== E) throw new Error(`MultiheadAttention: query has embedding size ${eq}, expected ${E}`);

    // In-projection: one matmul when q, k, v are the same tensor, two when k is v, else three.
    let q: Tensor, k: Tensor, v: Tensor;
    const w = this.inProjWeight;
    const b = this.inProjBias;
    if (k0 === v0 && q0 === k0) {
      [q, k, v] = N.chunk(keepT(N.linear(q0, w, b)), 3, -1);
    } else {
      const [wq, wkv] = N.split(w, [E, 2 * E], 0);
      const [bq, bkv] = b ? N.split(b, [E, 2 * E], 0) : [null, null];
      made.push(wq, wkv, ...(bq && bkv ? [bq, bkv] : []));
      q = N.linear(q0, wq, bq);
      if (k0 === v0) {
        [k, v] = N.chunk(keepT(N.linear(k0, wkv, bkv)), 2, -1);
      } else {
        const [wk, wv] = N.chunk(wkv, 2, 0);
        const [bk, bv] = bkv ? N.chunk(bkv, 2, 0) : [null, null];
        made.push(wk, wv, ...(bk && bv ? [bk, bv] : []));
        k = N.linear(k0, wk, bk);
        v = N.linear(v0, wv, bv);
      }
    }
    made.push(q, k, v);
    // (L, B, E) -> (B*H, L, hd)
    const heads = (t: Tensor, len: number): Tensor =>
      keepT(N.transpose(keepT(N.view(keepT(N.contiguous(t)), [len, B * H, hd])), 0, 1));
    const qh = heads(q, L);
    const kh = heads(k, S);
    const vh = heads(v, S);

    const mask = this.mergeMasks(opts, B, L, S, N.dtype(q), N.device(q), made);
    const qs = keepT(N.binary(qh, Math.sqrt(hd), BIN.div));
    const kt = keepT(N.transpose(kh, -2, -1));
    const scores = keepT(mask ? N.baddbmm(mask, qs, kt, 1, 1) : N.bmm(qs, kt));
    let attn = keepT(N.softmax(scores, -1));
    if (this.training && this.dropout > 0) attn = keepT(N.dropout(attn, this.dropout, true));
    const ctx = keepT(N.bmm(attn, vh)); // (B*H, L, hd)
    const merged = keepT(N.view(keepT(N.contiguous(keepT(N.transpose(ctx, 0, 1)))), [L * B, E]));
    let out = N.view(keepT(this.outProj.forward(merged)), [L, B, E]);
    if (this.batchFirst) {
      made.push(out);
      out = N.transpose(out, 0, 1);
    }

    let weights: Tensor | null = null;
    if (opts.needWeights ?? true) {
      const w4 = keepT(N.view(attn, [B, H, L, S]));
      weights = (opts.averageAttnWeights ?? true) ? N.mean(w4, [1], false) : N.clone(w4);
    }
    for (const t of made) t.dispose();
    return [out, weights];
  }

  /**
   * One additive mask for the scores (-inf where not allowed), broadcastable to (B*H, L, S), or null.
   * Tensors it creates go to `made`.
   */
  private mergeMasks(
    opts: AttentionCallOptions,
    B: number,
    L: number,
    S: number,
    dtype: number,
    device: string,
    made: Tensor[],
  ): Tensor | null {
    const H = this.numHeads;
    const attnMask = opts.attnMask ?? null;
    const kpm = opts.keyPaddingMask ?? null;
    if (attnMask) {
      const s = N.shape(attnMask);
      const ok =
        (s.length === 2 && s[0] === L && s[1] === S) ||
        (s.length === 3 && s[0] === B * H && s[1] === L && s[2] === S);
      if (!ok) {
        throw new Error(
          `MultiheadAttention: attnMask has shape [${s}], expected [${L}, ${S}] or [${B * H}, ${L}, ${S}]`,
        );
      }
    }
    const track = (t: Tensor): Tensor => (made.push(t), t);
    // bool (true = blocked) -> 0 / -inf in the scores' dtype
    const additive = (m: Tensor): Tensor =>
      N.dtype(m) === BOOL ? track(N.maskedFill(track(N.zeros(N.shape(m), dtype, device)), m, -Infinity)) : m;
    if (!kpm) return attnMask ? additive(attnMask) : null;
    const s = N.shape(kpm);
    if (s.length !== 2 || s[0] !== B || s[1] !== S) {
      throw new Error(`MultiheadAttention: keyPaddingMask has shape [${s}], expected [${B}, ${S}]`);
    }
    if (N.dtype(kpm) !== BOOL) throw new Error('MultiheadAttention: keyPaddingMask must be a bool tensor');
    // (B, S) -> (B*H, 1, S), as PyTorch merges it
    const km = track(
      N.reshape(track(N.expand(track(N.view(kpm, [B, 1, 1, S])), [B, H, 1, S])), [B * H, 1, S]),
    );
    if (!attnMask) return additive(km);
    if (N.dtype(attnMask) === BOOL) return additive(track(N.binary(attnMask, km, BIN.logicalOr)));
    return track(N.maskedFill(attnMask, km, -Infinity));
  }
}

const BOOL = dtypeCode('bool');
