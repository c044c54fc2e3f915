// SAM's prompt encoder: turns points, boxes and a low-resolution mask into the decoder's sparse tokens
// [B, N, D] and dense map [B, D, h, w]. Sparse tokens are a random Fourier code of the coordinates plus
// a learned per-kind embedding, so they do not depend on the image: `promptLatents` exposes them alone
// (WISH's prompt latents, DESIGN.md section 4).
//
// Coordinate frame: every coordinate given to this module is in the MODEL INPUT frame: (x, y) pixels of
// the image after the longest-side resize to L (the padding lies beyond it), x to the right, y down, as
// the official predictor passes them after ResizeLongestSide.apply_coords. The encoder adds 0.5 and
// divides by L, as the official one. Map original-image coordinates with preprocess.ts's applyCoords /
// applyBoxes first (Sam.promptLatents does that for you).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { Conv2d, Embedding, LayerNorm2d, Module, ModuleList, Sequential } from '../engine/nn/index.ts';

/** Random Fourier features of 2-D coordinates (Tancik et al.), as SAM's PositionEmbeddingRandom. */
export class PositionEmbeddingRandom extends Module {
  /** [2, D/2] Gaussian frequencies; a buffer, loaded from the checkpoint. */
  readonly gaussianMatrix: Tensor;

  constructor(readonly numPosFeats: number) {
    super();
    this.gaussianMatrix = this.registerBuffer(
      'positional_encoding_gaussian_matrix',
      torch.randn([2, numPosFeats]),
    );
  }

  /** coords [..., 2] in [0, 1]^2 (x, y) -> [..., 2 * numPosFeats]: concat(sin v, cos v), v = 2π (2p - 1) G. */
  encode(coords: Tensor): Tensor {
    return torch.tidy(() => {
      const v = coords
        .to(this.gaussianMatrix.device)
        .mul(2)
        .sub(1)
        .matmul(this.gaussianMatrix)
        .mul(2 * Math.PI);
      return torch.cat([v.sin(), v.cos()], -1);
    });
  }

  /** The dense code of an h x w grid sampled at pixel centres -> [D, h, w]. */
  forward(size: [number, number]): Tensor {
    const [h, w] = size;
    return torch.tidy(() => {
      // (i + 0.5) / h in float32, the same values as the official cumsum(ones) - 0.5 then / h.
      const opts = { dtype: 'float32' as const, device: this.gaussianMatrix.device };
      const y = torch.arange(0, h, 1, opts).add(0.5).div(h);
      const x = torch.arange(0, w, 1, opts).add(0.5).div(w);
      const grid = torch.stack([x.view(1, w).expand(h, w), y.view(h, 1).expand(h, w)], -1); // [h, w, 2]
      return this.encode(grid).permute(2, 0, 1).contiguous(); // [D, h, w]
    });
  }

  /** coords [..., 2] in input-frame pixels (already +0.5) -> [..., D], normalised by imageSize [H, W]. */
  forwardWithCoords(coords: Tensor, imageSize: [number, number]): Tensor {
    return torch.tidy(() => {
      const scale = torch.tensor([imageSize[1], imageSize[0]], { device: coords.device });
      return this.encode(coords.float().div(scale));
    });
  }
}

/** GELU (exact erf form, as every GELU in SAM) as a parameterless layer, for Sequential. */
export class Gelu extends Module {
  forward(x: Tensor): Tensor {
    return torch.gelu(x);
  }
}

export interface PromptEncoderOptions {
  /** D: the prompt / decoder token width (256 in the official models). */
  embedDim: number;
  /** [h, w] of the image embedding (L / 16). */
  imageEmbeddingSize: [number, number];
  /** [H, W] of the padded model input (L x L). */
  inputImageSize: [number, number];
  /** Hidden channels of the mask-downscaling path (16 in the official models). */
  maskInChans: number;
}

export interface PointPrompts {
  /** [B, N, 2] (x, y) in the input frame. */
  coords: Tensor;
  /** [B, N]: 1 foreground, 0 background, -1 ignored (not_a_point). */
  labels: Tensor;
}

export interface PromptInputs {
  points?: PointPrompts | null;
  /** [B, 4] (x0, y0, x1, y1) in the input frame. */
  boxes?: Tensor | null;
  /** [B, 1, 4h, 4w] low-resolution mask logits (e.g. an earlier lowResLogits). */
  masks?: Tensor | null;
}

/** Latents of single-point or box prompts, without an image: see `promptLatents`. */
export interface LatentInputs {
  /** N positive points, [N, 2] (x, y) in the input frame. */
  points?: Tensor | number[][];
  /** Labels of those points (default all 1). */
  labels?: Tensor | number[];
  /** N boxes, [N, 4] (x0, y0, x1, y1) in the input frame. */
  boxes?: Tensor | number[][];
}

export class PromptEncoder extends Module {
  readonly embedDim: number;
  readonly imageEmbeddingSize: [number, number];
  readonly inputImageSize: [number, number];
  readonly maskInputSize: [number, number];
  readonly peLayer: PositionEmbeddingRandom;
  /** 0: background point, 1: foreground point, 2: box top-left, 3: box bottom-right; each [1, D]. */
  readonly pointEmbeddings: ModuleList<Embedding>;
  readonly notAPointEmbed: Embedding;
  readonly maskDownscaling: Sequential;
  readonly noMaskEmbed: Embedding;

  constructor(opts: PromptEncoderOptions) {
    super();
    const { embedDim, maskInChans } = opts;
    if (embedDim % 2 !== 0) throw new Error(`PromptEncoder: embedDim ${embedDim} must be even`);
    if (maskInChans % 4 !== 0)
      throw new Error(`PromptEncoder: maskInChans ${maskInChans} must be a multiple of 4`);
    this.embedDim = embedDim;
    this.imageEmbeddingSize = [...opts.imageEmbeddingSize];
    this.inputImageSize = [...opts.inputImageSize];
    this.maskInputSize = [4 * opts.imageEmbeddingSize[0], 4 * opts.imageEmbeddingSize[1]];
    this.peLayer = this.registerModule('pe_layer', new PositionEmbeddingRandom(embedDim / 2));
    this.pointEmbeddings = this.registerModule(
      'point_embeddings',
      new ModuleList([0, 1, 2, 3].map(() => new Embedding(1, embedDim))),
    );
    this.notAPointEmbed = this.registerModule('not_a_point_embed', new Embedding(1, embedDim));
    // Keys 0, 1, 3, 4, 6 as the official nn.Sequential (GELUs at 2 and 5 hold nothing).
    const q = maskInChans / 4;
    this.maskDownscaling = this.registerModule(
      'mask_downscaling',
      new Sequential(
        new Conv2d(1, q, 2, { stride: 2 }),
        new LayerNorm2d(q),
        new Gelu(),
        new Conv2d(q, maskInChans, 2, { stride: 2 }),
        new LayerNorm2d(maskInChans),
        new Gelu(),
        new Conv2d(maskInChans, embedDim, 1),
      ),
    );
    this.noMaskEmbed = this.registerModule('no_mask_embed', new Embedding(1, embedDim));
  }

  /** Positional code of the image embedding's grid -> [1, D, h, w]. */
  getDensePe(): Tensor {
    return torch.tidy(() => this.peLayer.forward(this.imageEmbeddingSize).unsqueeze(0));
  }

  /**
   * coords [B, N, 2], labels [B, N] -> [B, N (+1), D]. With pad, a point (0, 0) labelled -1 is appended
   * (the official encoder does so when no box follows).
   */
  embedPoints(coords: Tensor, labels: Tensor, pad: boolean): Tensor {
    return torch.tidy(() => {
      const [B, N] = checkShape(coords, [null, null, 2], 'point coords');
      checkShape(labels, [B, N], 'point labels');
      // Prompts may come from the CPU while the weights are on a GPU: they are a few numbers, moved here.
      const device = this.noMaskEmbed.weight.device;
      let pts = coords.to({ dtype: 'float32', device }).add(0.5);
      let lab = labels.to({ dtype: 'int64', device });
      if (pad) {
        pts = torch.cat([pts, torch.zeros([B, 1, 2], { device: pts.device })], 1);
        lab = torch.cat([lab, torch.full([B, 1], -1, { dtype: 'int64', device: lab.device })], 1);
      }
      const pe = this.peLayer.forwardWithCoords(pts, this.inputImageSize); // [B, N', D]
      const l = lab.unsqueeze(-1); // [B, N', 1]
      const w = (i: number): Tensor => this.pointEmbeddings.at(i).weight; // [1, D]
      // Label -1 replaces the code with not_a_point; 0 / 1 add their embedding; other labels keep the bare code.
      let out = pe.add(w(1)).where(l.eq(1), pe);
      out = pe.add(w(0)).where(l.eq(0), out);
      return this.notAPointEmbed.weight.expand(out.shape).where(l.eq(-1), out);
    });
  }

  /** boxes [B, 4] -> corner tokens [B, 2, D]. */
  embedBoxes(boxes: Tensor): Tensor {
    return torch.tidy(() => {
      const [B] = checkShape(boxes, [null, 4], 'boxes');
      const corners = boxes
        .to({ dtype: 'float32', device: this.noMaskEmbed.weight.device })
        .add(0.5)
        .reshape(B, 2, 2);
      const pe = this.peLayer.forwardWithCoords(corners, this.inputImageSize); // [B, 2, D]
      const corner = torch.cat([this.pointEmbeddings.at(2).weight, this.pointEmbeddings.at(3).weight], 0);
      return pe.add(corner); // corner [2, D] broadcasts over B
    });
  }

  /** masks [B, 1, 4h, 4w] -> [B, D, h, w] (two stride-2 convs with LN2d + GELU, then 1x1). */
  embedMasks(masks: Tensor): Tensor {
    checkShape(masks, [null, 1, this.maskInputSize[0], this.maskInputSize[1]], 'mask input');
    return this.maskDownscaling.forward(masks.float());
  }

  /**
   * -> sparse [B, N, D] (points, then pad point or box corners) and dense [B, D, h, w]. B comes from
   * whichever prompt is given (1 when none); points and boxes must agree on it.
   */
  forward(inputs: PromptInputs): { sparse: Tensor; dense: Tensor } {
    return torch.tidy(() => {
      const { points, boxes, masks } = inputs;
      const sizes = [points?.coords.size(0), boxes?.size(0), masks?.size(0)].filter(
        (b): b is number => b !== undefined,
      );
      const B = sizes[0] ?? 1;
      if (sizes.some((b) => b !== B)) {
        throw new Error(
          `PromptEncoder: points, boxes and masks disagree on the batch size (${sizes.join(', ')})`,
        );
      }
      const parts: Tensor[] = [
        torch.zeros([B, 0, this.embedDim], { device: this.noMaskEmbed.weight.device }),
      ];
      if (points) parts.push(this.embedPoints(points.coords, points.labels, !boxes));
      if (boxes) parts.push(this.embedBoxes(boxes));
      const sparse = torch.cat(parts, 1);
      const [h, w] = this.imageEmbeddingSize;
      const dense = masks
        ? this.embedMasks(masks)
        : this.noMaskEmbed.weight.reshape(1, this.embedDim, 1, 1).expand(B, this.embedDim, h, w);
      return { sparse, dense };
    });
  }

  /**
   * WISH's prompt latents: the sparse tokens of N independent one-point or one-box prompts, no image
   * needed. Points give [N, 2, D] (the point's token, then the padding token that SAM appends when no box
   * follows); boxes give [N, 2, D] (the two corner tokens). Coordinates are in the input frame (see the
   * top of this file). Exactly what `forward` yields for those prompts, one prompt per batch row.
   */
  promptLatents(inputs: LatentInputs): Tensor {
    const hasPoints = inputs.points !== undefined;
    if (hasPoints === (inputs.boxes !== undefined)) {
      throw new Error('promptLatents: give either points or boxes (one latent kind per call)');
    }
    return torch.tidy(() => {
      if (inputs.boxes !== undefined) return this.embedBoxes(asTensor(inputs.boxes, 'boxes'));
      const pts = asTensor(inputs.points!, 'points'); // [N, 2]
      const N = pts.size(0);
      const labels =
        inputs.labels === undefined
          ? torch.ones([N, 1], { dtype: 'int64', device: pts.device })
          : asTensor(inputs.labels, 'labels').to('int64').reshape(N, 1);
      return this.embedPoints(pts.reshape(N, 1, 2), labels, true);
    });
  }
}

function asTensor(v: Tensor | number[][] | number[], what: string): Tensor {
  if (v instanceof torch.Tensor) return v;
  if (!Array.isArray(v)) throw new Error(`promptLatents: ${what} must be a tensor or an array`);
  return torch.tensor(v as number[][]);
}

/** Checks t's shape against `want` (null = any) and returns it; the error names `what`. */
export function checkShape(t: Tensor, want: (number | null)[], what: string): number[] {
  const s = t.shape;
  if (s.length !== want.length || want.some((d, i) => d !== null && d !== s[i])) {
    const w = want.map((d) => (d === null ? '*' : String(d))).join(', ');
    throw new Error(`${what}: expected shape [${w}], got [${s.join(', ')}]`);
  }
  return s;
}
