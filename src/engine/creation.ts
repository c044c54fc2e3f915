// Making tensors: from JS data, raw buffers, and factory functions (zeros, arange, rand, ...).
import { dtypeCode, dtypeOfTypedArray, ITEM_SIZE, type DType, type TypedArray } from './dtype.ts';
import { N } from './native.ts';
import type { Tensor } from './tensor.ts';
import './tensor.ts'; // links the Tensor prototype before any tensor is made

export interface TensorOptions {
  dtype?: DType;
  /** 'cpu' (default), 'cuda', 'cuda:1' */
  device?: string;
  requiresGrad?: boolean;
}
export interface RandomOptions extends TensorOptions {
  generator?: Generator;
}

type Nested = number | boolean | Nested[];

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) N.setRequiresGrad(t, true);
  return t;
}
const code = (d: DType | undefined): number | undefined => (d === undefined ? undefined : dtypeCode(d));

/** 'cpu' or 'cuda:N', the form Tensor.device reports. The engine never changes the current CUDA device, so a
 * bare 'cuda' is device 0. */
export const canonicalDevice = (device: string): string => (device === 'cuda' ? 'cuda:0' : device);

/** A random number generator with its own seed (pass as `generator` to rand/randn/randint/randperm). */
export class Generator {
  /** Opaque handle owned by the addon; released by the GC. */
  readonly handle: object;
  readonly seed: number;
  /** Where it draws: 'cpu' or 'cuda:N' (the form Tensor.device reports). */
  readonly device: string;
  constructor(seed: number, device = 'cpu') {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`Generator seed must be a non-negative integer, got ${seed}`);
    this.seed = seed;
    this.handle = N.newGenerator(seed, device);
    this.device = canonicalDevice(device);
  }
}

function checkShape(shape: number[], what: string): number[] {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0)
      throw new RangeError(`${what}: shape [${shape.join(', ')}] must hold non-negative integers`);
  }
  return shape;
}

/**
 * A tensor from nested JS arrays or a typed array (copied). Numbers default to float32, booleans to bool;
 * typed arrays keep their own dtype (Float32Array -> float32, BigInt64Array -> int64, ...) unless
 * `dtype` says otherwise.
 */
export function tensor(data: Nested | TypedArray, opts: TensorOptions = {}): Tensor {
  if (ArrayBuffer.isView(data)) return fromTypedArray(data, [data.length], opts);
  const shape: number[] = [];
  let probe: Nested = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0] as Nested;
  }
  const numel = shape.reduce((a, b) => a * b, 1);
  const isBool = typeof probe === 'boolean';
  const flat = isBool ? new Uint8Array(numel) : new Float64Array(numel);
  let pos = 0;
  const walk = (v: Nested, d: number): void => {
    if (d === shape.length) {
      if (Array.isArray(v)) throw new TypeError(`tensor(): ragged nested array (too deep at depth ${d})`);
      if (typeof v !== 'number' && typeof v !== 'boolean')
        throw new TypeError(`tensor(): element ${pos} is ${typeof v}, not a number`);
      flat[pos++] = Number(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new TypeError(`tensor(): ragged nested array (expected length ${shape[d]} at depth ${d})`);
    }
    for (const x of v) walk(x, d + 1);
  };
  walk(data, 0);
  const src: DType = isBool ? 'bool' : 'float64';
  const t = N.fromBytes(
    flat,
    dtypeCode(src),
    shape,
    dtypeCode(opts.dtype ?? (isBool ? 'bool' : 'float32')),
    opts.device,
  );
  return finish(t, opts);
}

/** A tensor of the given shape holding a copy of `data` (row-major). */
export function fromTypedArray(data: TypedArray, shape?: number[], opts: TensorOptions = {}): Tensor {
  const src = dtypeOfTypedArray(data);
  const s = checkShape(shape ?? [data.length], 'fromTypedArray');
  return finish(N.fromBytes(data, dtypeCode(src), s, code(opts.dtype), opts.device), opts);
}

/**
 * A tensor from raw little-endian bytes of `dtype` (e.g. a safetensors payload), row-major. The bytes
 * are copied. Throws if the byte length does not match the shape.
 */
export function fromBuffer(
  buf: Uint8Array | ArrayBuffer,
  dtype: DType,
  shape: number[],
  opts: TensorOptions = {},
): Tensor {
  checkShape(shape, 'fromBuffer');
  const need = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  const have = buf.byteLength;
  if (need !== have) {
    throw new RangeError(`fromBuffer: ${dtype} [${shape.join(', ')}] needs ${need} bytes, got ${have}`);
  }
  return finish(N.fromBytes(buf, dtypeCode(dtype), shape, code(opts.dtype), opts.device), opts);
}

export const zeros = (shape: number[], opts: TensorOptions = {}): Tensor =>
  finish(N.zeros(checkShape(shape, 'zeros'), code(opts.dtype), opts.device), opts);
export const ones = (shape: number[], opts: TensorOptions = {}): Tensor =>
  finish(N.ones(checkShape(shape, 'ones'), code(opts.dtype), opts.device), opts);
export const empty = (shape: number[], opts: TensorOptions = {}): Tensor =>
  finish(N.empty(checkShape(shape, 'empty'), code(opts.dtype), opts.device), opts);
/** Filled with `value`; dtype defaults to float32 (bool for a boolean value). */
export const full = (shape: number[], value: number | boolean, opts: TensorOptions = {}): Tensor =>
  finish(
    N.full(
      checkShape(shape, 'full'),
      value,
      code(opts.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32')),
      opts.device,
    ),
    opts,
  );
export const zerosLike = (t: Tensor, opts: { dtype?: DType } = {}): Tensor =>
  N.zerosLike(t, code(opts.dtype));
export const onesLike = (t: Tensor, opts: { dtype?: DType } = {}): Tensor => N.onesLike(t, code(opts.dtype));
export const emptyLike = (t: Tensor, opts: { dtype?: DType } = {}): Tensor =>
  N.emptyLike(t, code(opts.dtype));
export const fullLike = (t: Tensor, value: number | boolean, opts: { dtype?: DType } = {}): Tensor =>
  N.fullLike(t, value, code(opts.dtype));

/**
 * arange(end) or arange(start, end, step): int64 when all arguments are integers and no dtype is given
 * (like PyTorch), else float32.
 */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  return finish(N.arange(start, end, step, code(opts.dtype), opts.device), opts);
}
export const linspace = (start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor =>
  finish(N.linspace(start, end, steps, code(opts.dtype), opts.device), opts);
export const eye = (n: number, m = n, opts: TensorOptions = {}): Tensor =>
  finish(N.eye(n, m, code(opts.dtype), opts.device), opts);

/** Uniform on [0, 1). */
export const rand = (shape: number[], opts: RandomOptions = {}): Tensor =>
  finish(N.rand(checkShape(shape, 'rand'), code(opts.dtype), opts.device, opts.generator?.handle), opts);
/** Standard normal. */
export const randn = (shape: number[], opts: RandomOptions = {}): Tensor =>
  finish(N.randn(checkShape(shape, 'randn'), code(opts.dtype), opts.device, opts.generator?.handle), opts);
/** Integers in [low, high), int64 by default. */
export const randint = (low: number, high: number, shape: number[], opts: RandomOptions = {}): Tensor =>
  N.randint(low, high, checkShape(shape, 'randint'), code(opts.dtype), opts.device, opts.generator?.handle);
/** A random permutation of 0..n-1 (int64). */
export const randperm = (n: number, opts: RandomOptions = {}): Tensor =>
  N.randperm(n, code(opts.dtype), opts.device, opts.generator?.handle);
/** 0/1 draws with probabilities p (same dtype as p). */
export const bernoulli = (p: Tensor, opts: { generator?: Generator } = {}): Tensor =>
  N.bernoulli(p, opts.generator?.handle);
/** n category indices per row of probs [.., C]. */
export const multinomial = (
  probs: Tensor,
  n: number,
  replacement = false,
  opts: { generator?: Generator } = {},
): Tensor => N.multinomial(probs, n, replacement, opts.generator?.handle);
/** In-place initialisers with an explicit generator (Tensor.uniform_/normal_ use the default one). */
export function uniform_(t: Tensor, from = 0, to = 1, generator?: Generator): Tensor {
  N.uniform_(t, from, to, generator?.handle);
  return t;
}
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  N.normal_(t, mean, std, generator?.handle);
  return t;
}
