// Loads the compiled addon (build/Release/wish_native.node, built by `npm ci` / `npm run build:addon`)
// and types its entry points. The addon is a flat table of functions over opaque tensor handles; the
// TypeScript layer (tensor.ts, ops/*, nn/*) gives them PyTorch's names and argument conventions.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

import type { Tensor } from './tensor.ts';

type T = Tensor;
type OptT = Tensor | null | undefined;
type Num = number | boolean;
type Gen = object | undefined;
/** Index spec element: int, null (new axis), '...', [start, stop, step] slice, or an index/mask tensor. */
export type NativeIndex = number | null | '...' | [number | null, number | null, number] | Tensor | boolean;

export interface NativeAddon {
  NativeTensor: { prototype: object };
  // lifetime and metadata (tensor_wrap.cpp)
  dispose(t: T): void;
  isDisposed(t: T): boolean;
  keep(t: T): T;
  scopeBegin(): number;
  scopeEnd(depth: number, kept: T[]): void;
  scopeDepth(): number;
  liveTensors(): number;
  shape(t: T): number[];
  size(t: T, dim: number): number;
  stride(t: T): number[];
  dim(t: T): number;
  numel(t: T): number;
  dtype(t: T): number;
  device(t: T): string;
  isContiguous(t: T): boolean;
  sameStorage(a: T, b: T): boolean;
  // allocator.cpp
  memoryStats(): {
    enabled: boolean;
    inUseBytes: number;
    cachedBytes: number;
    peakBytes: number;
    cacheLimitBytes: number;
    hits: number;
    misses: number;
  };
  emptyCache(): void;
  setCacheLimit(bytes: number): void;
  // runtime.cpp
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  newGenerator(seed: number, device?: string): object;
  cudaIsAvailable(): boolean;
  cudaDeviceCount(): number;
  cudaSynchronize(index: number): void;
  version(): { torch: string; cxx11Abi: boolean; parallel: string };
  // io.cpp
  fromBytes(
    bytes: ArrayBufferView | ArrayBuffer,
    srcDtype: number,
    shape: number[],
    dstDtype?: number,
    device?: string,
  ): T;
  toBytes(t: T, asDtype?: number): ArrayBuffer;
  item(t: T): number;
  // creation.cpp
  zeros(shape: number[], dtype?: number, device?: string): T;
  ones(shape: number[], dtype?: number, device?: string): T;
  empty(shape: number[], dtype?: number, device?: string): T;
  full(shape: number[], value: Num, dtype?: number, device?: string): T;
  arange(start: number, end: number, step: number, dtype?: number, device?: string): T;
  linspace(start: number, end: number, steps: number, dtype?: number, device?: string): T;
  eye(n: number, m: number, dtype?: number, device?: string): T;
  rand(shape: number[], dtype?: number, device?: string, gen?: Gen): T;
  randn(shape: number[], dtype?: number, device?: string, gen?: Gen): T;
  randint(low: number, high: number, shape: number[], dtype?: number, device?: string, gen?: Gen): T;
  randperm(n: number, dtype?: number, device?: string, gen?: Gen): T;
  zerosLike(t: T, dtype?: number): T;
  onesLike(t: T, dtype?: number): T;
  emptyLike(t: T, dtype?: number): T;
  fullLike(t: T, value: Num, dtype?: number): T;
  uniform_(t: T, from: number, to: number, gen?: Gen): void;
  normal_(t: T, mean: number, std: number, gen?: Gen): void;
  bernoulli(p: T, gen?: Gen): T;
  multinomial(p: T, n: number, replacement: boolean, gen?: Gen): T;
  fill_(t: T, v: Num): void;
  zero_(t: T): void;
  // pointwise.cpp
  binary(a: T | Num, b: T | Num, op: number): T;
  addScaled(a: T, b: T | Num, alpha: number): T;
  binary_(a: T, b: T | Num, op: number, alpha?: number): void;
  unary(t: T, op: number): T;
  unary_(t: T, op: number): void;
  clamp(t: T, min?: T | number | null, max?: T | number | null): T;
  clamp_(t: T, min?: number | null, max?: number | null): void;
  where(cond: T, a: T | Num, b: T | Num): T;
  lerp(a: T, b: T, w: T | number): T;
  addcmul(t: T, a: T, b: T, value: number): T;
  addcdiv(t: T, a: T, b: T, value: number): T;
  leakyRelu(t: T, slope: number): T;
  elu(t: T, alpha: number): T;
  softplus(t: T, beta: number, threshold: number): T;
  hardtanh(t: T, min: number, max: number): T;
  nanToNum(t: T, nan?: number | null, posinf?: number | null, neginf?: number | null): T;
  to(t: T, dtype: number | undefined, device: string | undefined, copy: boolean): T;
  clone(t: T): T;
  contiguous(t: T): T;
  copy_(dst: T, src: T): void;
  isclose(a: T, b: T, rtol: number, atol: number, equalNan: boolean): T;
  // linalg.cpp
  matmul(a: T, b: T): T;
  mm(a: T, b: T): T;
  bmm(a: T, b: T): T;
  outer(a: T, b: T): T;
  linear(x: T, w: T, b?: OptT): T;
  einsum(eq: string, ts: T[]): T;
  baddbmm(input: T, b1: T, b2: T, beta: number, alpha: number): T;
  cdist(a: T, b: T, p: number): T;
  // reduce.cpp
  sum(t: T, dims: number[] | null, keepdim: boolean, dtype?: number): T;
  mean(t: T, dims: number[] | null, keepdim: boolean, dtype?: number): T;
  prod(t: T, dim: number | null, keepdim: boolean): T;
  amax(t: T, dims: number[], keepdim: boolean): T;
  amin(t: T, dims: number[], keepdim: boolean): T;
  maxAll(t: T): T;
  minAll(t: T): T;
  maxDim(t: T, dim: number, keepdim: boolean): [T, T];
  minDim(t: T, dim: number, keepdim: boolean): [T, T];
  argmax(t: T, dim: number | null, keepdim: boolean): T;
  argmin(t: T, dim: number | null, keepdim: boolean): T;
  std(t: T, dims: number[] | null, correction: number, keepdim: boolean): T;
  var(t: T, dims: number[] | null, correction: number, keepdim: boolean): T;
  norm(t: T, p: number, dims: number[] | null, keepdim: boolean): T;
  logsumexp(t: T, dims: number[], keepdim: boolean): T;
  all(t: T, dim: number | null, keepdim: boolean): T;
  any(t: T, dim: number | null, keepdim: boolean): T;
  cumsum(t: T, dim: number, dtype?: number): T;
  cumprod(t: T, dim: number): T;
  topk(t: T, k: number, dim: number, largest: boolean, sorted: boolean): [T, T];
  sort(t: T, dim: number, descending: boolean, stable: boolean): [T, T];
  argsort(t: T, dim: number, descending: boolean): T;
  unique(t: T, sorted: boolean, returnInverse: boolean, returnCounts: boolean): [T, T, T];
  countNonzero(t: T, dims: number[] | null): T;
  bincount(t: T, weights: OptT, minlength: number): T;
  // shape.cpp
  reshape(t: T, shape: number[]): T;
  view(t: T, shape: number[]): T;
  permute(t: T, dims: number[]): T;
  transpose(t: T, d0: number, d1: number): T;
  narrow(t: T, dim: number, start: number, length: number): T;
  select(t: T, dim: number, index: number): T;
  slice(t: T, dim: number, start: number | null, end: number | null, step: number): T;
  indexSelect(t: T, dim: number, index: T): T;
  gather(t: T, dim: number, index: T): T;
  scatter(t: T, dim: number, index: T, src: T | Num): T;
  scatterAdd(t: T, dim: number, index: T, src: T): T;
  scatterReduce(t: T, dim: number, index: T, src: T, reduce: string, includeSelf: boolean): T;
  indexAdd(t: T, dim: number, index: T, src: T, alpha: number): T;
  maskedFill(t: T, mask: T, value: T | Num): T;
  maskedFill_(t: T, mask: T, value: T | Num): void;
  maskedSelect(t: T, mask: T): T;
  cat(ts: T[], dim: number): T;
  stack(ts: T[], dim: number): T;
  split(t: T, sizes: number | number[], dim: number): T[];
  chunk(t: T, n: number, dim: number): T[];
  unbind(t: T, dim: number): T[];
  expand(t: T, sizes: number[]): T;
  repeat(t: T, reps: number[]): T;
  repeatInterleave(t: T, repeats: number, dim: number | null): T;
  flatten(t: T, start: number, end: number): T;
  unflatten(t: T, dim: number, sizes: number[]): T;
  squeeze(t: T, dim: number | null): T;
  unsqueeze(t: T, dim: number): T;
  nonzero(t: T): T;
  flip(t: T, dims: number[]): T;
  roll(t: T, shifts: number[], dims: number[]): T;
  tril(t: T, k: number): T;
  triu(t: T, k: number): T;
  movedim(t: T, src: number[], dst: number[]): T;
  index(t: T, spec: NativeIndex[]): T;
  indexPut_(t: T, spec: NativeIndex[], value: T | Num, accumulate: boolean): void;
  meshgrid(ts: T[], indexing: string): T[];
  diagonal(t: T, offset: number, d1: number, d2: number): T;
  // nn.cpp
  conv2d(
    x: T,
    w: T,
    b: OptT,
    stride: number[],
    padding: number[] | string,
    dilation: number[],
    groups: number,
  ): T;
  conv1d(
    x: T,
    w: T,
    b: OptT,
    stride: number[],
    padding: number[] | string,
    dilation: number[],
    groups: number,
  ): T;
  convTranspose2d(
    x: T,
    w: T,
    b: OptT,
    stride: number[],
    padding: number[],
    outputPadding: number[],
    groups: number,
    dilation: number[],
  ): T;
  maxPool2d(
    x: T,
    k: number[],
    s: number[],
    p: number[],
    d: number[],
    ceil: boolean,
    withIndices: boolean,
  ): T | [T, T];
  avgPool2d(
    x: T,
    k: number[],
    s: number[],
    p: number[],
    ceil: boolean,
    countIncludePad: boolean,
    divisor?: number | null,
  ): T;
  adaptiveAvgPool2d(x: T, size: number[]): T;
  adaptiveMaxPool2d(x: T, size: number[]): [T, T];
  layerNorm(x: T, shape: number[], w: OptT, b: OptT, eps: number): T;
  groupNorm(x: T, groups: number, w: OptT, b: OptT, eps: number): T;
  batchNorm(
    x: T,
    mean: OptT,
    variance: OptT,
    w: OptT,
    b: OptT,
    training: boolean,
    momentum: number,
    eps: number,
  ): T;
  softmax(x: T, dim: number, dtype?: number): T;
  logSoftmax(x: T, dim: number, dtype?: number): T;
  dropout(x: T, p: number, training: boolean): T;
  embedding(w: T, idx: T, paddingIdx: number): T;
  oneHot(idx: T, numClasses: number): T;
  // sample.cpp
  interpolate(
    x: T,
    size: number[] | null,
    scale: number[] | null,
    mode: number,
    alignCorners: boolean,
    antialias: boolean,
  ): T;
  gridSample(x: T, grid: T, mode: number, padding: number, alignCorners: boolean): T;
  affineGrid(theta: T, size: number[], alignCorners: boolean): T;
  pad(x: T, pads: number[], mode: number, value: number): T;
  // attention.cpp
  sdpa(q: T, k: T, v: T, mask: OptT, dropoutP: number, isCausal: boolean, scale?: number | null): T;
  sdpaComposed(q: T, k: T, v: T, mask: OptT, dropoutP: number, isCausal: boolean, scale?: number | null): T;
  // loss.cpp
  crossEntropy(
    x: T,
    target: T,
    weight: OptT,
    reduction: number,
    ignoreIndex: number,
    labelSmoothing: number,
  ): T;
  nllLoss(x: T, target: T, weight: OptT, reduction: number, ignoreIndex: number): T;
  bceWithLogits(x: T, target: T, weight: OptT, posWeight: OptT, reduction: number): T;
  bce(x: T, target: T, weight: OptT, reduction: number): T;
  klDiv(x: T, target: T, reduction: number, logTarget: boolean): T;
  mseLoss(a: T, b: T, reduction: number): T;
  l1Loss(a: T, b: T, reduction: number): T;
  smoothL1Loss(a: T, b: T, reduction: number, beta: number): T;
  huberLoss(a: T, b: T, reduction: number, delta: number): T;
  // autograd.cpp
  backward(t: T, grad: OptT, retainGraph: boolean, createGraph: boolean): void;
  requiresGrad(t: T): boolean;
  setRequiresGrad(t: T, flag: boolean): void;
  grad(t: T): T | null;
  setGrad(t: T, g: OptT): void;
  detach(t: T): T;
  isLeaf(t: T): boolean;
  retainGrad(t: T): void;
  setGradEnabled(flag: boolean): boolean;
  isGradEnabled(): boolean;
  zeroGrad(ts: T[], setToNone: boolean): void;
  clipGradNorm(ts: T[], maxNorm: number, normType: number): T;
  autogradGrad(
    outputs: T[],
    inputs: T[],
    gradOutputs: OptT[] | null,
    retainGraph: boolean,
    createGraph: boolean,
    allowUnused: boolean,
  ): (T | null)[];
}

const addonPath = fileURLToPath(new URL('../../build/Release/wish_native.node', import.meta.url));

/** True when the engine chose OPENBLAS_NUM_THREADS=1 itself (the user had not set it). */
export let blasThreadsDefaulted = false;

function load(): NativeAddon {
  if (!existsSync(addonPath)) {
    throw new Error(
      `wish: the native addon is not built (${addonPath} is missing). Run \`npm run build:addon\` ` +
        '(needs libtorch: `sudo apt-get install libtorch-dev`, or WISH_TORCH_PYTHON / WISH_LIBTORCH, see docs/engine.md).',
    );
  }
  // OpenBLAS keeps its own thread pool beside libtorch's OpenMP one, and on few cores the two fight: a
  // 6-layer transformer-decoder training step took 0.91 s with both at 2 threads and 0.33 s with OpenBLAS
  // at 1 (2 cores). libtorch parallelises around its BLAS calls, so BLAS runs single-threaded unless the
  // user set OPENBLAS_NUM_THREADS. It must be set before the addon pulls libopenblas in.
  if (process.env.OPENBLAS_NUM_THREADS === undefined) {
    blasThreadsDefaulted = true;
    process.env.OPENBLAS_NUM_THREADS = '1';
  }
  const addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
  // Intra-op threads: every core (libtorch's default is half of them; DESIGN.md section 2 measured a
  // ResNet step at 138 ms with 1 thread and 84 ms with 2 on a 2-core machine). WISH_NUM_THREADS overrides.
  const envThreads = Number(process.env.WISH_NUM_THREADS);
  addon.setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
  return addon;
}

/** The addon. Other engine files call it as `N.add(...)`-style one-liners. */
export const N: NativeAddon = load();
