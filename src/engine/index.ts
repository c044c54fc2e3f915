// The engine's public API: libtorch tensors, autograd and memory scopes from TypeScript.
// Reads like PyTorch: `import * as torch from '../engine/index.ts'` then torch.zeros([2, 3]), x.matmul(y), ...
export { Tensor, type NestedArray } from './tensor.ts';
export { DTYPES, ITEM_SIZE, isFloatingPoint, type DType, type TypedArray } from './dtype.ts';
export * from './creation.ts';
export * from './ops/pointwise.ts';
export * from './ops/reduce.ts';
export * from './ops/shape.ts';
export { index, indexPut_, sl, type Index, type Slice } from './ops/indexing.ts';
export * from './ops/linalg.ts';
export type { Reduction } from './ops/codes.ts';
export {
  tidy,
  keep,
  dispose,
  tensorsIn,
  memory,
  emptyCache,
  setCacheLimit,
  type MemoryInfo,
} from './memory.ts';
export {
  noGrad,
  enableGrad,
  isGradEnabled,
  setGradEnabled,
  zeroGrad,
  clipGradNorm,
  grad,
} from './autograd.ts';
export { setNumThreads, getNumThreads, manualSeed, cuda, backendInfo } from './runtime.ts';
export * from './nn/functional.ts';
export * from './losses.ts';
