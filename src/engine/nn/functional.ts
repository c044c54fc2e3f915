// torch.nn.functional, camelCased: convolution, pooling, resampling, normalisation, activations,
// dropout, embedding, attention. (sigmoid / tanh live in ops/pointwise.ts.) Shapes follow PyTorch ([N, C, H, W] images).
import { dtypeCode, type DType } from '../dtype.ts';
import { N } from '../native.ts';
import { UN } from '../ops/codes.ts';
import type { Tensor } from '../tensor.ts';

type Pair = number | [number, number];
const pair = (v: Pair): number[] => (Array.isArray(v) ? v : [v, v]);

export interface Conv2dOptions {
  stride?: Pair;
  /** numbers, or 'same' / 'valid' */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
}
/** x [N, Cin, H, W], weight [Cout, Cin/groups, kH, kW], bias [Cout] -> [N, Cout, Ho, Wo] */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const p = opts.padding ?? 0;
  return N.conv2d(
    x,
    weight,
    bias,
    pair(opts.stride ?? 1),
    typeof p === 'string' ? p : pair(p),
    pair(opts.dilation ?? 1),
    opts.groups ?? 1,
  );
}
/** x [N, Cin, L], weight [Cout, Cin/groups, k] -> [N, Cout, Lo] */
export function conv1d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: { stride?: number; padding?: number | 'same' | 'valid'; dilation?: number; groups?: number } = {},
): Tensor {
  const p = opts.padding ?? 0;
  return N.conv1d(
    x,
    weight,
    bias,
    [opts.stride ?? 1],
    typeof p === 'string' ? p : [p],
    [opts.dilation ?? 1],
    opts.groups ?? 1,
  );
}
export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  dilation?: Pair;
}
/** x [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW] -> [N, Cout, Ho, Wo] */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTranspose2dOptions = {},
): Tensor {
  return N.convTranspose2d(
    x,
    weight,
    bias,
    pair(opts.stride ?? 1),
    pair(opts.padding ?? 0),
    pair(opts.outputPadding ?? 0),
    opts.groups ?? 1,
    pair(opts.dilation ?? 1),
  );
}

export interface Pool2dOptions {
  /** default: kernelSize */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}
export function maxPool2d(x: Tensor, kernelSize: Pair, opts: Pool2dOptions = {}): Tensor {
  const k = pair(kernelSize);
  return N.maxPool2d(
    x,
    k,
    pair(opts.stride ?? (k as Pair)),
    pair(opts.padding ?? 0),
    pair(opts.dilation ?? 1),
    opts.ceilMode ?? false,
    false,
  ) as Tensor;
}
/** Max pooling that also returns the flat (per-plane) argmax indices. */
export function maxPool2dWithIndices(
  x: Tensor,
  kernelSize: Pair,
  opts: Pool2dOptions = {},
): { values: Tensor; indices: Tensor } {
  const k = pair(kernelSize);
  const [values, indices] = N.maxPool2d(
    x,
    k,
    pair(opts.stride ?? (k as Pair)),
    pair(opts.padding ?? 0),
    pair(opts.dilation ?? 1),
    opts.ceilMode ?? false,
    true,
  ) as [Tensor, Tensor];
  return { values, indices };
}
export function avgPool2d(
  x: Tensor,
  kernelSize: Pair,
  opts: {
    stride?: Pair;
    padding?: Pair;
    ceilMode?: boolean;
    countIncludePad?: boolean;
    divisorOverride?: number;
  } = {},
): Tensor {
  const k = pair(kernelSize);
  return N.avgPool2d(
    x,
    k,
    pair(opts.stride ?? (k as Pair)),
    pair(opts.padding ?? 0),
    opts.ceilMode ?? false,
    opts.countIncludePad ?? true,
    opts.divisorOverride,
  );
}
export const adaptiveAvgPool2d = (x: Tensor, outputSize: Pair): Tensor =>
  N.adaptiveAvgPool2d(x, pair(outputSize));
export function adaptiveMaxPool2d(x: Tensor, outputSize: Pair): Tensor {
  const [values, indices] = N.adaptiveMaxPool2d(x, pair(outputSize));
  N.dispose(indices);
  return values;
}

export type InterpolateMode = 'nearest' | 'bilinear' | 'bicubic' | 'nearest-exact' | 'area';
const MODE: Record<InterpolateMode, number> = {
  nearest: 0,
  bilinear: 1,
  bicubic: 2,
  'nearest-exact': 3,
  area: 4,
};
export interface InterpolateOptions {
  /** output [H, W] (or one number for both); give size or scaleFactor */
  size?: Pair;
  scaleFactor?: number | [number, number];
  mode?: InterpolateMode;
  /** bilinear / bicubic only; PyTorch's default false */
  alignCorners?: boolean;
  antialias?: boolean;
}
/** Resizes x [N, C, H, W] (F.interpolate, default mode 'nearest'). */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const mode = opts.mode ?? 'nearest';
  const code = MODE[mode];
  if (code === undefined) throw new TypeError(`interpolate: unknown mode '${mode}'`);
  const linear = mode === 'bilinear' || mode === 'bicubic';
  if (opts.alignCorners !== undefined && !linear) {
    throw new TypeError(`interpolate: alignCorners only applies to bilinear/bicubic, not '${mode}'`);
  }
  const shape = N.shape(x);
  if (shape.length !== 4)
    throw new RangeError(`interpolate: expected [N, C, H, W], got [${shape.join(', ')}]`);
  let size: number[];
  let scale: number[] | null = null;
  if (opts.size !== undefined) {
    if (opts.scaleFactor !== undefined)
      throw new TypeError('interpolate: give size or scaleFactor, not both');
    size = pair(opts.size);
  } else if (opts.scaleFactor !== undefined) {
    scale = pair(opts.scaleFactor);
    size = [Math.floor(shape[2] * scale[0]), Math.floor(shape[3] * scale[1])];
    if (mode === 'area') scale = null;
  } else {
    throw new TypeError('interpolate: size or scaleFactor is required');
  }
  return N.interpolate(x, size, scale, code, opts.alignCorners ?? false, opts.antialias ?? false);
}

export interface GridSampleOptions {
  mode?: 'bilinear' | 'nearest' | 'bicubic';
  paddingMode?: 'zeros' | 'border' | 'reflection';
  /** PyTorch's default false */
  alignCorners?: boolean;
}
/** Samples x [N, C, H, W] at grid [N, Ho, Wo, 2] (x, y in [-1, 1]) -> [N, C, Ho, Wo]. */
export function gridSample(x: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor {
  const m = { bilinear: 0, nearest: 1, bicubic: 2 }[opts.mode ?? 'bilinear'];
  const p = { zeros: 0, border: 1, reflection: 2 }[opts.paddingMode ?? 'zeros'];
  if (m === undefined || p === undefined) throw new TypeError('gridSample: unknown mode or paddingMode');
  return N.gridSample(x, grid, m, p, opts.alignCorners ?? false);
}
/** theta [N, 2, 3] -> sampling grid [N, H, W, 2] for size [N, C, H, W]. */
export const affineGrid = (theta: Tensor, size: number[], alignCorners = false): Tensor =>
  N.affineGrid(theta, size, alignCorners);
/** F.pad: pads lists last dim first ([left, right, top, bottom]). */
export function pad(
  x: Tensor,
  pads: number[],
  mode: 'constant' | 'reflect' | 'replicate' = 'constant',
  value = 0,
): Tensor {
  const m = { constant: 0, reflect: 1, replicate: 2 }[mode];
  if (m === undefined) throw new TypeError(`pad: unknown mode '${mode}'`);
  return N.pad(x, pads, m, value);
}

/** Normalises over the trailing `normalizedShape` dims. */
export const layerNorm = (
  x: Tensor,
  normalizedShape: number[],
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor => N.layerNorm(x, normalizedShape, weight, bias, eps);
/** x [N, C, ...], C split into numGroups groups. */
export const groupNorm = (
  x: Tensor,
  numGroups: number,
  weight?: Tensor | null,
  bias?: Tensor | null,
  eps = 1e-5,
): Tensor => N.groupNorm(x, numGroups, weight, bias, eps);
/** x [N, C, ...]; in training, batch statistics are used and the running ones updated in place. */
export const batchNorm = (
  x: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  opts: {
    weight?: Tensor | null;
    bias?: Tensor | null;
    training?: boolean;
    momentum?: number;
    eps?: number;
  } = {},
): Tensor =>
  N.batchNorm(
    x,
    runningMean,
    runningVar,
    opts.weight,
    opts.bias,
    opts.training ?? false,
    opts.momentum ?? 0.1,
    opts.eps ?? 1e-5,
  );

export const softmax = (x: Tensor, dim: number, dtype?: DType): Tensor =>
  N.softmax(x, dim, dtype === undefined ? undefined : dtypeCode(dtype));
export const logSoftmax = (x: Tensor, dim: number, dtype?: DType): Tensor =>
  N.logSoftmax(x, dim, dtype === undefined ? undefined : dtypeCode(dtype));

export const relu = (x: Tensor): Tensor => N.unary(x, UN.relu);
/** GELU; approximate 'none' is the exact erf form (PyTorch's default), 'tanh' the approximation. */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor =>
  N.unary(x, approximate === 'tanh' ? UN.geluTanh : UN.gelu);
export const silu = (x: Tensor): Tensor => N.unary(x, UN.silu);
export const mish = (x: Tensor): Tensor => N.unary(x, UN.mish);
export const hardswish = (x: Tensor): Tensor => N.unary(x, UN.hardswish);
export const hardsigmoid = (x: Tensor): Tensor => N.unary(x, UN.hardsigmoid);
export const logSigmoid = (x: Tensor): Tensor => N.unary(x, UN.logSigmoid);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => N.leakyRelu(x, negativeSlope);
export const elu = (x: Tensor, alpha = 1): Tensor => N.elu(x, alpha);
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor => N.softplus(x, beta, threshold);
export const hardtanh = (x: Tensor, minVal = -1, maxVal = 1): Tensor => N.hardtanh(x, minVal, maxVal);

/** Zeroes elements with probability p and scales the rest by 1/(1-p) when training. */
export const dropout = (x: Tensor, p = 0.5, training = true): Tensor => N.dropout(x, p, training);
/** Rows of weight [V, D] at indices (int64) -> [...indices.shape, D]. */
export const embedding = (indices: Tensor, weight: Tensor, paddingIdx = -1): Tensor =>
  N.embedding(weight, indices, paddingIdx);
/** int64 class indices -> one-hot int64 [..., numClasses] (numClasses -1: max + 1). */
export const oneHot = (indices: Tensor, numClasses = -1): Tensor => N.oneHot(indices, numClasses);
/** x @ weight^T + bias */
export const linear = (x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor => N.linear(x, weight, bias);

export interface AttentionOptions {
  /** bool (true = may attend) or additive float, broadcastable to [..., L, S] */
  attnMask?: Tensor | null;
  dropoutP?: number;
  isCausal?: boolean;
  /** default 1 / sqrt(E) */
  scale?: number;
}
/**
 * softmax(q k^T * scale + mask) v ; q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev].
 * libtorch's fused kernel where the linked version has one (>= 2.1), the composed formula otherwise.
 */
export const scaledDotProductAttention = (
  q: Tensor,
  k: Tensor,
  v: Tensor,
  opts: AttentionOptions = {},
): Tensor => N.sdpa(q, k, v, opts.attnMask, opts.dropoutP ?? 0, opts.isCausal ?? false, opts.scale);
