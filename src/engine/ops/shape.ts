// Views, joins and gathers, as torch.* functions. Shapes may be given as one array or as numbers.
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';
import type { TensorOrScalar } from './pointwise.ts';

export type ShapeArg = number | number[];
/** Normalises `(2, 3)` / `([2, 3])` rest arguments to one list. */
export const shapeOf = (args: ShapeArg[]): number[] =>
  args.length === 1 && Array.isArray(args[0]) ? (args[0] as number[]) : (args as number[]);

export const reshape = (t: Tensor, ...shape: ShapeArg[]): Tensor => N.reshape(t, shapeOf(shape));
export const view = (t: Tensor, ...shape: ShapeArg[]): Tensor => N.view(t, shapeOf(shape));
export const permute = (t: Tensor, ...dims: ShapeArg[]): Tensor => N.permute(t, shapeOf(dims));
export const transpose = (t: Tensor, dim0: number, dim1: number): Tensor => N.transpose(t, dim0, dim1);
export const narrow = (t: Tensor, dim: number, start: number, length: number): Tensor =>
  N.narrow(t, dim, start, length);
/** t.select(dim, i): drops dim, like t[..., i, ...]. */
export const select = (t: Tensor, dim: number, index: number): Tensor => N.select(t, dim, index);
/** Basic slice start:end:step along one dim (end exclusive; null = to the end; negatives count from the end). */
export const slice = (
  t: Tensor,
  dim: number,
  start: number | null = null,
  end: number | null = null,
  step = 1,
): Tensor => N.slice(t, dim, start, end, step);
export const indexSelect = (t: Tensor, dim: number, index: Tensor): Tensor => N.indexSelect(t, dim, index);
export const gather = (t: Tensor, dim: number, index: Tensor): Tensor => N.gather(t, dim, index);
/** Out-of-place scatter: a copy of t with src (tensor or number) written at index along dim. */
export const scatter = (t: Tensor, dim: number, index: Tensor, src: TensorOrScalar): Tensor =>
  N.scatter(t, dim, index, src);
export const scatterAdd = (t: Tensor, dim: number, index: Tensor, src: Tensor): Tensor =>
  N.scatterAdd(t, dim, index, src);
/** reduce: 'sum' | 'prod' | 'mean' | 'amax' | 'amin' */
export const scatterReduce = (
  t: Tensor,
  dim: number,
  index: Tensor,
  src: Tensor,
  reduce: 'sum' | 'prod' | 'mean' | 'amax' | 'amin',
  includeSelf = true,
): Tensor => N.scatterReduce(t, dim, index, src, reduce, includeSelf);
export const indexAdd = (t: Tensor, dim: number, index: Tensor, src: Tensor, alpha = 1): Tensor =>
  N.indexAdd(t, dim, index, src, alpha);
export const maskedFill = (t: Tensor, mask: Tensor, value: TensorOrScalar): Tensor =>
  N.maskedFill(t, mask, value);
export const maskedSelect = (t: Tensor, mask: Tensor): Tensor => N.maskedSelect(t, mask);
export const cat = (tensors: Tensor[], dim = 0): Tensor => N.cat(tensors, dim);
export const stack = (tensors: Tensor[], dim = 0): Tensor => N.stack(tensors, dim);
/** split(t, 2) -> pieces of size 2; split(t, [1, 3]) -> pieces of those sizes. */
export const split = (t: Tensor, sizes: number | number[], dim = 0): Tensor[] => N.split(t, sizes, dim);
export const chunk = (t: Tensor, chunks: number, dim = 0): Tensor[] => N.chunk(t, chunks, dim);
export const unbind = (t: Tensor, dim = 0): Tensor[] => N.unbind(t, dim);
export const expand = (t: Tensor, ...sizes: ShapeArg[]): Tensor => N.expand(t, shapeOf(sizes));
export const repeat = (t: Tensor, ...reps: ShapeArg[]): Tensor => N.repeat(t, shapeOf(reps));
export const repeatInterleave = (t: Tensor, repeats: number, dim?: number): Tensor =>
  N.repeatInterleave(t, repeats, dim ?? null);
export const flatten = (t: Tensor, startDim = 0, endDim = -1): Tensor => N.flatten(t, startDim, endDim);
export const unflatten = (t: Tensor, dim: number, sizes: number[]): Tensor => N.unflatten(t, dim, sizes);
/** Removes size-1 dims (all, or just `dim`). */
export const squeeze = (t: Tensor, dim?: number): Tensor => N.squeeze(t, dim ?? null);
export const unsqueeze = (t: Tensor, dim: number): Tensor => N.unsqueeze(t, dim);
/** Indices of non-zero elements, [n, ndim] int64. */
export const nonzero = (t: Tensor): Tensor => N.nonzero(t);
export const flip = (t: Tensor, dims: number[]): Tensor => N.flip(t, dims);
export const roll = (t: Tensor, shifts: number | number[], dims: number | number[]): Tensor =>
  N.roll(t, Array.isArray(shifts) ? shifts : [shifts], Array.isArray(dims) ? dims : [dims]);
export const tril = (t: Tensor, diagonal = 0): Tensor => N.tril(t, diagonal);
export const triu = (t: Tensor, diagonal = 0): Tensor => N.triu(t, diagonal);
export const movedim = (t: Tensor, source: number | number[], destination: number | number[]): Tensor =>
  N.movedim(
    t,
    Array.isArray(source) ? source : [source],
    Array.isArray(destination) ? destination : [destination],
  );
export const diagonal = (t: Tensor, offset = 0, dim1 = 0, dim2 = 1): Tensor =>
  N.diagonal(t, offset, dim1, dim2);
/** meshgrid with 'ij' (default, matrix) or 'xy' (Cartesian) indexing. */
export const meshgrid = (tensors: Tensor[], indexing: 'ij' | 'xy' = 'ij'): Tensor[] =>
  N.meshgrid(tensors, indexing);
