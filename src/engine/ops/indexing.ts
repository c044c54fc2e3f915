// Python-style indexing: t.index(0, ':', slice(1, null, 2), null, '...', idxTensor) is t[0, :, 1::2, None, ..., idx].
import { N, type NativeIndex } from '../native.ts';
import type { Tensor } from '../tensor.ts';
import type { TensorOrScalar } from './pointwise.ts';

/** A slice spec start:stop:step (null = open end), as made by `slice(...)` in Python. */
export interface Slice {
  readonly start: number | null;
  readonly stop: number | null;
  readonly step: number;
}
export function sl(start: number | null = null, stop: number | null = null, step = 1): Slice {
  if (step <= 0) throw new RangeError('slice step must be positive');
  return { start, stop, step };
}

/** One index: int, ':' (all), '...', null (new axis), a Slice, or an int64 / bool tensor. */
export type Index = number | ':' | '...' | null | Slice | Tensor | boolean;

function toNative(i: Index): NativeIndex {
  if (i === ':') return [null, null, 1];
  if (i === null || typeof i === 'number' || typeof i === 'boolean' || i === '...') return i;
  if (typeof i === 'object' && 'step' in i && 'start' in i) return [i.start, i.stop, i.step];
  return i as Tensor;
}

export const index = (t: Tensor, ...idx: Index[]): Tensor => N.index(t, idx.map(toNative));
/** t[idx] = value, in place (accumulate adds instead, like index_put_(accumulate=True)). */
export function indexPut_(t: Tensor, idx: Index[], value: TensorOrScalar, accumulate = false): Tensor {
  N.indexPut_(t, idx.map(toNative), value, accumulate);
  return t;
}
