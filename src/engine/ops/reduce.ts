// Reductions, scans, sorting, as torch.* functions. `dim` may be a number or a list of numbers;
// omitted means all dimensions.
import { N } from '../native.ts';
import { dtypeCode, type DType } from '../dtype.ts';
import type { Tensor } from '../tensor.ts';

export type Dims = number | number[];
const dimList = (d: Dims | undefined | null): number[] | null =>
  d === undefined || d === null ? null : Array.isArray(d) ? d : [d];

/** Values with their indices along a dim, as returned by max(dim), min(dim), topk, sort. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

export const sum = (t: Tensor, dim?: Dims | null, keepdim = false, dtype?: DType): Tensor =>
  N.sum(t, dimList(dim), keepdim, dtype === undefined ? undefined : dtypeCode(dtype));
export const mean = (t: Tensor, dim?: Dims | null, keepdim = false, dtype?: DType): Tensor =>
  N.mean(t, dimList(dim), keepdim, dtype === undefined ? undefined : dtypeCode(dtype));
export const prod = (t: Tensor, dim?: number | null, keepdim = false): Tensor =>
  N.prod(t, dim ?? null, keepdim);
/** Max over dims (no indices). */
export const amax = (t: Tensor, dim: Dims = [], keepdim = false): Tensor =>
  N.amax(t, dimList(dim) ?? [], keepdim);
export const amin = (t: Tensor, dim: Dims = [], keepdim = false): Tensor =>
  N.amin(t, dimList(dim) ?? [], keepdim);

/** torch.max(t) -> 0-d tensor; torch.max(t, dim) -> { values, indices }. */
export function max(t: Tensor): Tensor;
export function max(t: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(t: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return N.maxAll(t);
  const [values, indices] = N.maxDim(t, dim, keepdim);
  return { values, indices };
}
export function min(t: Tensor): Tensor;
export function min(t: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(t: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  if (dim === undefined) return N.minAll(t);
  const [values, indices] = N.minDim(t, dim, keepdim);
  return { values, indices };
}
export const argmax = (t: Tensor, dim?: number | null, keepdim = false): Tensor =>
  N.argmax(t, dim ?? null, keepdim);
export const argmin = (t: Tensor, dim?: number | null, keepdim = false): Tensor =>
  N.argmin(t, dim ?? null, keepdim);

export interface VarOptions {
  /** Degrees-of-freedom correction: 1 = unbiased (PyTorch's default), 0 = population. */
  correction?: number;
  keepdim?: boolean;
}
export const std = (t: Tensor, dim?: Dims | null, opts: VarOptions = {}): Tensor =>
  N.std(t, dimList(dim), opts.correction ?? 1, opts.keepdim ?? false);
export const variance = (t: Tensor, dim?: Dims | null, opts: VarOptions = {}): Tensor =>
  N.var(t, dimList(dim), opts.correction ?? 1, opts.keepdim ?? false);
/** Vector p-norm over dims (all when omitted); p may be Infinity. */
export const norm = (t: Tensor, p = 2, dim?: Dims | null, keepdim = false): Tensor =>
  N.norm(t, p, dimList(dim), keepdim);
export const logsumexp = (t: Tensor, dim: Dims, keepdim = false): Tensor =>
  N.logsumexp(t, dimList(dim) ?? [], keepdim);
export const all = (t: Tensor, dim?: number | null, keepdim = false): Tensor =>
  N.all(t, dim ?? null, keepdim);
export const any = (t: Tensor, dim?: number | null, keepdim = false): Tensor =>
  N.any(t, dim ?? null, keepdim);
export const cumsum = (t: Tensor, dim: number, dtype?: DType): Tensor =>
  N.cumsum(t, dim, dtype === undefined ? undefined : dtypeCode(dtype));
export const cumprod = (t: Tensor, dim: number): Tensor => N.cumprod(t, dim);

/** The k largest (or smallest) entries along dim (default last). */
export function topk(t: Tensor, k: number, dim = -1, largest = true, sorted = true): ValuesIndices {
  const [values, indices] = N.topk(t, k, dim, largest, sorted);
  return { values, indices };
}
export function sort(t: Tensor, dim = -1, descending = false, stable = false): ValuesIndices {
  const [values, indices] = N.sort(t, dim, descending, stable);
  return { values, indices };
}
export const argsort = (t: Tensor, dim = -1, descending = false): Tensor => N.argsort(t, dim, descending);

export interface UniqueResult {
  values: Tensor;
  inverse?: Tensor;
  counts?: Tensor;
}
/** Unique values of the flattened tensor (sorted), optionally with inverse indices and counts. */
export function unique(
  t: Tensor,
  opts: { sorted?: boolean; returnInverse?: boolean; returnCounts?: boolean } = {},
): UniqueResult {
  const [values, inverse, counts] = N.unique(
    t,
    opts.sorted ?? true,
    opts.returnInverse ?? false,
    opts.returnCounts ?? false,
  );
  const out: UniqueResult = { values };
  if (opts.returnInverse) out.inverse = inverse;
  else N.dispose(inverse);
  if (opts.returnCounts) out.counts = counts;
  else N.dispose(counts);
  return out;
}
export const countNonzero = (t: Tensor, dim?: Dims | null): Tensor => N.countNonzero(t, dimList(dim));
export const bincount = (t: Tensor, weights?: Tensor | null, minlength = 0): Tensor =>
  N.bincount(t, weights, minlength);
