// RawTensor: the engine-independent, in-memory form of a checkpoint tensor.
// `data` holds the elements in C (row-major) order as little-endian bytes, exactly as they
// sit in a safetensors file or a torch storage, so readers and writers never convert.
// Helpers here view those bytes as the matching typed array (no copy when aligned).

// The engine's dtype names (type only: this folder needs no native code at run time).
import { DTYPES, ITEM_SIZE, type DType } from '../dtype.ts';
export type { DType };

export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** Bytes per element: the engine's own table. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = ITEM_SIZE;

export { DTYPES };

// Every reader and writer here assumes a little-endian host (x86-64, arm64); refuse loudly elsewhere
// rather than silently scrambling weights.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('wish checkpoint I/O needs a little-endian machine');
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a tensor of this dtype and shape occupies; throws on a malformed shape. */
export function byteLength(dtype: DType, shape: readonly number[]): number {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new Error(`invalid dimension ${d} in shape [${shape.join(', ')}]`);
  }
  const n = numel(shape) * DTYPE_SIZE[dtype];
  if (!Number.isSafeInteger(n)) throw new Error(`shape [${shape.join(', ')}] is too large`);
  return n;
}

/**
 * A fresh byte buffer that is about to be overwritten whole (by a file read): skips the zero fill,
 * which costs as much as the read itself on large tensors. Owns its ArrayBuffer (offset 0, aligned).
 */
export function allocForRead(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Checks that data.byteLength matches dtype and shape; returns the tensor for chaining. */
export function checkRaw(t: RawTensor, what = 'tensor'): RawTensor {
  if (!(t.dtype in DTYPE_SIZE)) throw new Error(`${what}: unknown dtype ${String(t.dtype)}`);
  const want = byteLength(t.dtype, t.shape);
  if (t.data.byteLength !== want) {
    throw new Error(
      `${what}: ${t.dtype} [${t.shape.join(', ')}] needs ${want} bytes but has ${t.data.byteLength}`,
    );
  }
  return t;
}

export type TypedView =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/**
 * The data as the typed array that matches the dtype: float16 and bfloat16 come back as their raw
 * Uint16Array bit patterns (use toFloat32 for values), bool as 0/1 bytes. Shares memory with
 * `t.data` when the bytes are aligned, copies otherwise.
 */
export function typedView(t: RawTensor): TypedView {
  const size = DTYPE_SIZE[t.dtype];
  let buf = t.data;
  if (buf.byteOffset % size !== 0) buf = buf.slice();
  const n = buf.byteLength / size;
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(buf.buffer, buf.byteOffset, n);
    case 'float64':
      return new Float64Array(buf.buffer, buf.byteOffset, n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buf.buffer, buf.byteOffset, n);
    case 'int64':
      return new BigInt64Array(buf.buffer, buf.byteOffset, n);
    case 'int32':
      return new Int32Array(buf.buffer, buf.byteOffset, n);
    case 'int16':
      return new Int16Array(buf.buffer, buf.byteOffset, n);
    case 'int8':
      return new Int8Array(buf.buffer, buf.byteOffset, n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
  }
}

/** IEEE half bits -> number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number -> IEEE half bits, rounding to nearest even (as torch's .half() does). */
export function floatToHalf(x: number): number {
  const f32 = new Float32Array([x]);
  const bits = new Uint32Array(f32.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    if (rest > half || (rest === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 31) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

/** bfloat16 bits -> number (the top half of a float32). */
export function bfloat16ToFloat(h: number): number {
  const u = new Uint32Array([h << 16]);
  return new Float32Array(u.buffer)[0];
}

/** number -> bfloat16 bits, rounding to nearest even like torch. */
export function floatToBfloat16(x: number): number {
  const u = new Uint32Array(new Float32Array([x]).buffer)[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff; // keep NaN a NaN
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The values as float32 (int64 beyond 2^24 loses precision, as any float32 cast would). */
export function toFloat32(t: RawTensor): Float32Array {
  const v = typedView(t);
  if (t.dtype === 'float32') return Float32Array.from(v as Float32Array);
  const out = new Float32Array(v.length);
  if (t.dtype === 'float16') for (let i = 0; i < v.length; i++) out[i] = halfToFloat(v[i] as number);
  else if (t.dtype === 'bfloat16')
    for (let i = 0; i < v.length; i++) out[i] = bfloat16ToFloat(v[i] as number);
  else if (t.dtype === 'int64') for (let i = 0; i < v.length; i++) out[i] = Number(v[i] as bigint);
  else for (let i = 0; i < v.length; i++) out[i] = v[i] as number;
  return out;
}

/** Wraps a typed array (copying nothing) as a RawTensor; dtype defaults from the array type. */
export function fromTyped(
  arr:
    | Float32Array
    | Float64Array
    | BigInt64Array
    | Int32Array
    | Int16Array
    | Int8Array
    | Uint8Array
    | Uint16Array,
  shape: number[],
  dtype?: DType,
): RawTensor {
  const d: DType =
    dtype ??
    (arr instanceof Float32Array
      ? 'float32'
      : arr instanceof Float64Array
        ? 'float64'
        : arr instanceof BigInt64Array
          ? 'int64'
          : arr instanceof Int32Array
            ? 'int32'
            : arr instanceof Int16Array
              ? 'int16'
              : arr instanceof Int8Array
                ? 'int8'
                : arr instanceof Uint8Array
                  ? 'uint8'
                  : 'float16');
  if (arr.BYTES_PER_ELEMENT !== DTYPE_SIZE[d]) {
    throw new Error(`fromTyped: a ${arr.constructor.name} cannot hold ${d}`);
  }
  return checkRaw({
    dtype: d,
    shape: [...shape],
    data: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength),
  });
}
