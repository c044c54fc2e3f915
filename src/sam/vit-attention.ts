// Multi-head self-attention of SAM's ViT blocks, with decomposed relative positions, and the window
// partition helpers of the windowed blocks. Key names follow segment_anything/modeling/image_encoder.py:
// qkv.{weight,bias}, proj.{weight,bias}, rel_pos_h, rel_pos_w.
import * as torch from '../engine/index.ts';
import { Linear, Module } from '../engine/nn/index.ts';
import type { Tensor } from '../engine/index.ts';

export interface ViTAttentionOptions {
  dim: number;
  numHeads: number;
  qkvBias: boolean;
  useRelPos: boolean;
  /** Token grid the rel-pos tables are sized for: [window, window] or the whole [H/p, W/p] grid. */
  inputSize: [number, number];
  /** Logits per head chunk (default LOGITS_PER_CHUNK); tests make it small to cross chunk boundaries. */
  logitsPerChunk?: number;
}

// Heads are processed in chunks of about this many logits so the [N, N] logits, their bias and the
// softmax of a global block (4096 tokens in ViT-B: 64 MB per head) do not all live at once.
const LOGITS_PER_CHUNK = 1 << 24;

/**
 * get_rel_pos: the table `relPos` [(2S-1), hd] read at q - k + (k_size - 1), giving [qSize, kSize, hd].
 * Tables of another length are first resized with 1-D linear interpolation (align_corners false), as the
 * official code does; official configs never need it.
 */
export function relPosTable(qSize: number, kSize: number, relPos: Tensor): Tensor {
  return torch.tidy(() => {
    const maxDist = 2 * Math.max(qSize, kSize) - 1;
    const [len, hd] = relPos.shape;
    let table = relPos;
    if (len !== maxDist) {
      // F.interpolate(mode='linear') on [1, hd, len]; the engine's interpolate is 2-D, and bilinear over a
      // height of 1 -> 1 is linear along the width.
      const x = relPos.t().reshape(1, hd, 1, len);
      table = torch
        .interpolate(x, { size: [1, maxDist], mode: 'bilinear', alignCorners: false })
        .reshape(hd, maxDist)
        .t();
    }
    const qScale = Math.max(kSize / qSize, 1);
    const kScale = Math.max(qSize / kSize, 1);
    const idx = new BigInt64Array(qSize * kSize);
    for (let i = 0; i < qSize; i++) {
      for (let j = 0; j < kSize; j++) {
        // float coordinates truncated by .long(), exactly as the reference computes them
        idx[i * kSize + j] = BigInt(Math.trunc(i * qScale - j * kScale + (kSize - 1) * kScale));
      }
    }
    return table
      .indexSelect(0, torch.fromTypedArray(idx, undefined, { device: table.device }))
      .reshape(qSize, kSize, hd);
  });
}

export class ViTAttention extends Module {
  readonly numHeads: number;
  readonly headDim: number;
  readonly scale: number;
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly relPosH: Tensor | null = null;
  readonly relPosW: Tensor | null = null;

  constructor(readonly opts: ViTAttentionOptions) {
    super();
    const { dim, numHeads } = opts;
    if (dim % numHeads !== 0)
      throw new Error(`ViTAttention: dim ${dim} is not divisible by ${numHeads} heads`);
    this.numHeads = numHeads;
    this.headDim = dim / numHeads;
    this.scale = this.headDim ** -0.5;
    this.qkv = this.registerModule('qkv', new Linear(dim, dim * 3, { bias: opts.qkvBias }));
    this.proj = this.registerModule('proj', new Linear(dim, dim));
    if (opts.useRelPos) {
      // Zero init, as the official rel_pos_zero_init; checkpoints overwrite them.
      const [h, w] = opts.inputSize;
      this.relPosH = this.registerParameter('rel_pos_h', torch.zeros([2 * h - 1, this.headDim]));
      this.relPosW = this.registerParameter('rel_pos_w', torch.zeros([2 * w - 1, this.headDim]));
    }
  }

  /** x [B, H, W, C] -> [B, H, W, C] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [B, H, W, C] = x.shape;
      const nh = this.numHeads;
      const hd = this.headDim;
      const N = H * W;
      // qkv: [B, H, W, 3C] -> [3, B*nh, N, hd] (split as (3, heads, hd) along channels)
      const qkv = this.qkv
        .forward(x)
        .reshape(B, N, 3, nh, hd)
        .permute(2, 0, 3, 1, 4)
        .reshape(3, B * nh, N, hd);
      const [q, k, v] = qkv.unbind(0); // each [B*nh, N, hd]
      const kT = k.transpose(1, 2); // [B*nh, hd, N]

      // Decomposed relative positions use the *unscaled* q: relH [B*nh, H, W, H], relW [B*nh, H, W, W].
      let relH: Tensor | null = null;
      let relW: Tensor | null = null;
      if (this.relPosH && this.relPosW) {
        const Rh = relPosTable(H, H, this.relPosH); // [H, H, hd]
        const Rw = relPosTable(W, W, this.relPosW); // [W, W, hd]
        const rq = q.reshape(B * nh, H, W, hd);
        relH = torch.einsum('bhwc,hkc->bhwk', rq, Rh);
        relW = torch.einsum('bhwc,wkc->bhwk', rq, Rw);
      }

      const qs = q.mul(this.scale); // [B*nh, N, hd]
      // Chunk over (batch, head) pairs: each chunk's [n, N, N] logits stay within LOGITS_PER_CHUNK while every
      // matmul keeps all N query rows (row-chunked matmuls measured 3-5x slower with OpenBLAS).
      const BH = B * nh;
      const perChunk = Math.max(
        1,
        Math.min(BH, Math.floor((this.opts.logitsPerChunk ?? LOGITS_PER_CHUNK) / (N * N))),
      );
      const outs: Tensor[] = [];
      for (let c0 = 0; c0 < BH; c0 += perChunk) {
        const n = Math.min(perChunk, BH - c0);
        outs.push(
          torch.tidy(() => {
            const qc = qs.narrow(0, c0, n); // [n, N, hd]
            const kc = kT.narrow(0, c0, n); // [n, hd, N]
            let logits: Tensor;
            if (relH && relW) {
              // bias[b, (i, j), (kh, kw)] = relH[b, i, j, kh] + relW[b, i, j, kw]
              const bh = relH.narrow(0, c0, n).unsqueeze(-1); // [n, H, W, H, 1]
              const bw = relW.narrow(0, c0, n).unsqueeze(-2); // [n, H, W, 1, W]
              logits = torch.baddbmm(bh.add(bw).reshape(n, N, N), qc, kc); // [n, N, N]
            } else {
              logits = torch.bmm(qc, kc);
            }
            return logits.softmax(-1).bmm(v.narrow(0, c0, n)); // [n, N, hd]
          }),
        );
      }
      const o = outs.length === 1 ? outs[0] : torch.cat(outs, 0); // [B*nh, N, hd]
      // heads back to channels: [B, nh, H, W, hd] -> [B, H, W, nh*hd]
      const merged = o.reshape(B, nh, H, W, hd).permute(0, 2, 3, 1, 4).reshape(B, H, W, C);
      return this.proj.forward(merged);
    });
  }
}

/**
 * window_partition: x [B, H, W, C] zero padded at the bottom/right to multiples of `ws`, cut into windows
 * -> [B * nWin, ws, ws, C] and the padded size [Hp, Wp]. Padded tokens are not masked later.
 */
export function windowPartition(x: Tensor, ws: number): { windows: Tensor; padHW: [number, number] } {
  return torch.tidy(() => {
    const [B, H, W, C] = x.shape;
    const padH = (ws - (H % ws)) % ws;
    const padW = (ws - (W % ws)) % ws;
    const xp = padH > 0 || padW > 0 ? torch.pad(x, [0, 0, 0, padW, 0, padH]) : x;
    const Hp = H + padH;
    const Wp = W + padW;
    const windows = xp
      .reshape(B, Hp / ws, ws, Wp / ws, ws, C)
      .permute(0, 1, 3, 2, 4, 5)
      .reshape(-1, ws, ws, C);
    return { windows, padHW: [Hp, Wp] as [number, number] };
  });
}

/** window_unpartition: windows [B * nWin, ws, ws, C] -> [B, H, W, C] (padding cropped). */
export function windowUnpartition(
  windows: Tensor,
  ws: number,
  padHW: [number, number],
  hw: [number, number],
): Tensor {
  return torch.tidy(() => {
    const [Hp, Wp] = padHW;
    const [H, W] = hw;
    const C = windows.shape[3];
    const B = windows.shape[0] / ((Hp * Wp) / ws / ws);
    let x = windows
      .reshape(B, Hp / ws, Wp / ws, ws, ws, C)
      .permute(0, 1, 3, 2, 4, 5)
      .reshape(B, Hp, Wp, C);
    if (Hp > H || Wp > W) x = x.narrow(1, 0, H).narrow(2, 0, W).contiguous();
    return x;
  });
}
