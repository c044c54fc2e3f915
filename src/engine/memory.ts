// Deterministic tensor lifetimes. libtorch memory is invisible to V8's GC until finalizers run (only
// when the event loop turns), so long synchronous loops must free tensors explicitly:
//   - tidy(fn): every tensor created inside fn is freed when fn returns, except those it returns
//     (directly or inside arrays / plain objects), which move to the enclosing tidy scope.
//   - t.dispose(): free one tensor now.   - t.keep() / keep(x): exempt from enclosing tidy scopes.
// Sizes are reported to V8 (napi_adjust_external_memory), so forgotten tensors are still collected.
import { N } from './native.ts';
import { Tensor } from './tensor.ts';

function collect(value: unknown, out: Tensor[], seen: Set<unknown>): void {
  if (value instanceof Tensor) {
    out.push(value);
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collect(v, out, seen);
  }
}

/** Tensors found in a value: itself, or inside arrays, Maps and plain objects (recursively). */
export function tensorsIn(value: unknown): Tensor[] {
  const out: Tensor[] = [];
  collect(value, out, new Set());
  return out;
}

/** Runs fn and frees every tensor it created except those in its result. Not for async functions. */
export function tidy<R>(fn: () => R): R {
  const depth = N.scopeBegin();
  let result: R;
  try {
    result = fn();
  } catch (e) {
    N.scopeEnd(depth, []);
    throw e;
  }
  if (result instanceof Promise) {
    N.scopeEnd(depth, []);
    throw new TypeError(
      'tidy(): fn returned a Promise; tidy scopes are synchronous (wrap each sync step instead)',
    );
  }
  N.scopeEnd(depth, tensorsIn(result));
  return result;
}

/** Keeps the tensors in `value` alive past every enclosing tidy scope; returns value. */
export function keep<V>(value: V): V {
  for (const t of tensorsIn(value)) N.keep(t);
  return value;
}

/** Disposes every tensor in `value` (a tensor, or arrays / objects of tensors). */
export function dispose(value: unknown): void {
  for (const t of tensorsIn(value)) N.dispose(t);
}

export interface MemoryInfo {
  /** Live JS tensor handles (not yet disposed or collected). */
  liveTensors: number;
  /** Whether the caching CPU allocator is installed (WISH_CACHING_ALLOCATOR=0 turns it off). */
  cachingAllocator: boolean;
  /** Bytes of CPU tensor memory in use / held in the allocator's cache / peak in use. */
  inUseBytes: number;
  cachedBytes: number;
  peakBytes: number;
}

export function memory(): MemoryInfo {
  const s = N.memoryStats();
  return {
    liveTensors: N.liveTensors(),
    cachingAllocator: s.enabled,
    inUseBytes: s.inUseBytes,
    cachedBytes: s.cachedBytes,
    peakBytes: s.peakBytes,
  };
}

/** Returns cached CPU blocks to the system. */
export const emptyCache = (): void => N.emptyCache();
/** Caps the allocator's cache (bytes above it are freed, not cached). Default 4 GiB. */
export const setCacheLimit = (bytes: number): void => N.setCacheLimit(bytes);
