// The Tensor class. Instances are made by the addon (native/src/tensor_wrap.cpp): each is a JS object
// that owns one libtorch tensor handle. The addon's object prototype inherits from Tensor.prototype
// (linked at the bottom of this file), so one JS object per tensor and one N-API call per op.
//
// Methods read like PyTorch's (camelCase names, same argument order); in-place methods end in `_` and
// return `this`. Memory: see memory.ts (tidy / dispose / keep).
import { dtypeCode, dtypeFromCode, typedArrayFor, type DType, type TypedArray } from './dtype.ts';
import { N } from './native.ts';
import { BIN, UN } from './ops/codes.ts';
import * as idx from './ops/indexing.ts';
import * as la from './ops/linalg.ts';
import * as pw from './ops/pointwise.ts';
import * as red from './ops/reduce.ts';
import * as sh from './ops/shape.ts';

type TS = pw.TensorOrScalar;
type ShapeArg = sh.ShapeArg;

/** Nested JS arrays of numbers, as returned by toArray(). */
export type NestedArray = number | NestedArray[];

export class Tensor {
  private constructor() {
    throw new TypeError('Tensors are made by engine functions: tensor(), zeros(), fromTypedArray(), ...');
  }

  // ---- metadata ----
  get shape(): number[] {
    return N.shape(this);
  }
  /** size() -> shape; size(dim) -> that dim's length (negative dims count from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    return dim === undefined ? N.shape(this) : N.size(this, dim);
  }
  get ndim(): number {
    return N.dim(this);
  }
  dim(): number {
    return N.dim(this);
  }
  numel(): number {
    return N.numel(this);
  }
  get dtype(): DType {
    return dtypeFromCode(N.dtype(this));
  }
  /** 'cpu', 'cuda:0', ... */
  get device(): string {
    return N.device(this);
  }
  stride(): number[] {
    return N.stride(this);
  }
  isContiguous(): boolean {
    return N.isContiguous(this);
  }

  // ---- lifetime ----
  /** Frees this tensor's memory now (unless a view or autograd still uses it). Further use throws. */
  dispose(): void {
    N.dispose(this);
  }
  get isDisposed(): boolean {
    return N.isDisposed(this);
  }
  /** Exempts this tensor from every enclosing tidy() scope. */
  keep(): this {
    N.keep(this);
    return this;
  }

  // ---- data out ----
  /** The value of a one-element tensor. */
  item(): number {
    return N.item(this);
  }
  /** A copy of the values, row-major: Float32Array for float32/float16/bfloat16, BigInt64Array for int64,
   * Uint8Array for uint8/bool, and so on. */
  toTypedArray(): TypedArray {
    const d = this.dtype;
    const widen = d === 'float16' || d === 'bfloat16';
    return typedArrayFor(d, N.toBytes(this, widen ? dtypeCode('float32') : undefined));
  }
  /** The values as float32 (converted if needed), row-major. */
  toFloat32Array(): Float32Array {
    return new Float32Array(N.toBytes(this, dtypeCode('float32')));
  }
  /** Raw little-endian bytes in this tensor's dtype, row-major (for checkpoint writers). */
  toBuffer(): Buffer {
    return Buffer.from(N.toBytes(this));
  }
  /** Nested arrays of numbers (like tensor.tolist()). int64 values beyond 2^53 lose precision. */
  toArray(): NestedArray {
    const flat = this.toTypedArray();
    const shape = this.shape;
    const read = (i: number): number => Number(flat[i]);
    if (shape.length === 0) return read(0);
    let pos = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let i = 0; i < shape[d]; i++) out.push(d === shape.length - 1 ? read(pos++) : build(d + 1));
      return out;
    };
    return build(0);
  }

  // ---- conversion ----
  /** to('float16') / to('cuda') / to({ dtype, device }) ; returns this tensor's data unchanged when nothing changes. */
  to(target: DType | string | { dtype?: DType; device?: string; copy?: boolean }): Tensor {
    if (typeof target === 'string') {
      if (target in DTYPE_SET) return N.to(this, dtypeCode(target as DType), undefined, false);
      return N.to(this, undefined, target, false);
    }
    return N.to(
      this,
      target.dtype === undefined ? undefined : dtypeCode(target.dtype),
      target.device,
      target.copy ?? false,
    );
  }
  float(): Tensor {
    return this.to('float32');
  }
  double(): Tensor {
    return this.to('float64');
  }
  half(): Tensor {
    return this.to('float16');
  }
  bfloat16(): Tensor {
    return this.to('bfloat16');
  }
  long(): Tensor {
    return this.to('int64');
  }
  int(): Tensor {
    return this.to('int32');
  }
  bool(): Tensor {
    return this.to('bool');
  }
  cpu(): Tensor {
    return N.to(this, undefined, 'cpu', false);
  }
  cuda(index = 0): Tensor {
    return N.to(this, undefined, `cuda:${index}`, false);
  }
  clone(): Tensor {
    return N.clone(this);
  }
  contiguous(): Tensor {
    return N.contiguous(this);
  }
  /** Same dtype and device as `other`. */
  typeAs(other: Tensor): Tensor {
    return N.to(this, N.dtype(other), N.device(other), false);
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return N.requiresGrad(this);
  }
  set requiresGrad(flag: boolean) {
    N.setRequiresGrad(this, flag);
  }
  requiresGrad_(flag = true): this {
    N.setRequiresGrad(this, flag);
    return this;
  }
  /** The accumulated gradient (a new handle each read), or null. */
  get grad(): Tensor | null {
    return N.grad(this);
  }
  set grad(g: Tensor | null) {
    N.setGrad(this, g);
  }
  get isLeaf(): boolean {
    return N.isLeaf(this);
  }
  /** Accumulates d(this)/d(leaves) into the leaves' .grad; `gradient` is needed for non-scalars. */
  backward(gradient?: Tensor | null, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    N.backward(this, gradient, opts.retainGraph ?? false, opts.createGraph ?? false);
  }
  /** Same data, cut from the autograd graph. */
  detach(): Tensor {
    return N.detach(this);
  }
  retainGrad(): this {
    N.retainGrad(this);
    return this;
  }

  // ---- element-wise ----
  add(other: TS, alpha?: number): Tensor {
    return pw.add(this, other, alpha);
  }
  sub(other: TS, alpha?: number): Tensor {
    return pw.sub(this, other, alpha);
  }
  mul(other: TS): Tensor {
    return N.binary(this, other, BIN.mul);
  }
  div(other: TS): Tensor {
    return N.binary(this, other, BIN.div);
  }
  pow(exponent: TS): Tensor {
    return N.binary(this, exponent, BIN.pow);
  }
  /** other - this */
  rsub(other: TS): Tensor {
    return N.binary(other, this, BIN.sub);
  }
  /** other / this */
  rdiv(other: TS): Tensor {
    return N.binary(other, this, BIN.div);
  }
  remainder(other: TS): Tensor {
    return N.binary(this, other, BIN.remainder);
  }
  floorDivide(other: TS): Tensor {
    return N.binary(this, other, BIN.floorDivide);
  }
  maximum(other: TS): Tensor {
    return N.binary(this, other, BIN.maximum);
  }
  minimum(other: TS): Tensor {
    return N.binary(this, other, BIN.minimum);
  }
  eq(other: TS): Tensor {
    return N.binary(this, other, BIN.eq);
  }
  ne(other: TS): Tensor {
    return N.binary(this, other, BIN.ne);
  }
  lt(other: TS): Tensor {
    return N.binary(this, other, BIN.lt);
  }
  le(other: TS): Tensor {
    return N.binary(this, other, BIN.le);
  }
  gt(other: TS): Tensor {
    return N.binary(this, other, BIN.gt);
  }
  ge(other: TS): Tensor {
    return N.binary(this, other, BIN.ge);
  }
  logicalAnd(other: TS): Tensor {
    return N.binary(this, other, BIN.logicalAnd);
  }
  logicalOr(other: TS): Tensor {
    return N.binary(this, other, BIN.logicalOr);
  }
  logicalXor(other: TS): Tensor {
    return N.binary(this, other, BIN.logicalXor);
  }
  logicalNot(): Tensor {
    return N.unary(this, UN.logicalNot);
  }
  neg(): Tensor {
    return N.unary(this, UN.neg);
  }
  abs(): Tensor {
    return N.unary(this, UN.abs);
  }
  exp(): Tensor {
    return N.unary(this, UN.exp);
  }
  log(): Tensor {
    return N.unary(this, UN.log);
  }
  log1p(): Tensor {
    return N.unary(this, UN.log1p);
  }
  log2(): Tensor {
    return N.unary(this, UN.log2);
  }
  expm1(): Tensor {
    return N.unary(this, UN.expm1);
  }
  sqrt(): Tensor {
    return N.unary(this, UN.sqrt);
  }
  rsqrt(): Tensor {
    return N.unary(this, UN.rsqrt);
  }
  square(): Tensor {
    return N.unary(this, UN.square);
  }
  reciprocal(): Tensor {
    return N.unary(this, UN.reciprocal);
  }
  sin(): Tensor {
    return N.unary(this, UN.sin);
  }
  cos(): Tensor {
    return N.unary(this, UN.cos);
  }
  tanh(): Tensor {
    return N.unary(this, UN.tanh);
  }
  sigmoid(): Tensor {
    return N.unary(this, UN.sigmoid);
  }
  relu(): Tensor {
    return N.unary(this, UN.relu);
  }
  erf(): Tensor {
    return N.unary(this, UN.erf);
  }
  floor(): Tensor {
    return N.unary(this, UN.floor);
  }
  ceil(): Tensor {
    return N.unary(this, UN.ceil);
  }
  round(): Tensor {
    return N.unary(this, UN.round);
  }
  trunc(): Tensor {
    return N.unary(this, UN.trunc);
  }
  sign(): Tensor {
    return N.unary(this, UN.sign);
  }
  isnan(): Tensor {
    return N.unary(this, UN.isnan);
  }
  isinf(): Tensor {
    return N.unary(this, UN.isinf);
  }
  isfinite(): Tensor {
    return N.unary(this, UN.isfinite);
  }
  clamp(min?: Tensor | number | null, max?: Tensor | number | null): Tensor {
    return pw.clamp(this, min, max);
  }
  clampMin(min: Tensor | number): Tensor {
    return pw.clamp(this, min, null);
  }
  clampMax(max: Tensor | number): Tensor {
    return pw.clamp(this, null, max);
  }
  /** this where cond, else other (Tensor.where in PyTorch). */
  where(cond: Tensor, other: TS): Tensor {
    return N.where(cond, this, other);
  }
  lerp(end: Tensor, weight: Tensor | number): Tensor {
    return N.lerp(this, end, weight);
  }
  addcmul(a: Tensor, b: Tensor, value = 1): Tensor {
    return N.addcmul(this, a, b, value);
  }
  addcdiv(a: Tensor, b: Tensor, value = 1): Tensor {
    return N.addcdiv(this, a, b, value);
  }
  maskedFill(mask: Tensor, value: TS): Tensor {
    return N.maskedFill(this, mask, value);
  }

  // ---- in place (return this) ----
  add_(other: TS, alpha?: number): this {
    N.binary_(this, other, BIN.add, alpha);
    return this;
  }
  sub_(other: TS, alpha?: number): this {
    N.binary_(this, other, BIN.sub, alpha);
    return this;
  }
  mul_(other: TS): this {
    N.binary_(this, other, BIN.mul);
    return this;
  }
  div_(other: TS): this {
    N.binary_(this, other, BIN.div);
    return this;
  }
  pow_(other: TS): this {
    N.binary_(this, other, BIN.pow);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    N.clamp_(this, min, max);
    return this;
  }
  neg_(): this {
    N.unary_(this, UN.neg);
    return this;
  }
  exp_(): this {
    N.unary_(this, UN.exp);
    return this;
  }
  sqrt_(): this {
    N.unary_(this, UN.sqrt);
    return this;
  }
  relu_(): this {
    N.unary_(this, UN.relu);
    return this;
  }
  sigmoid_(): this {
    N.unary_(this, UN.sigmoid);
    return this;
  }
  zero_(): this {
    N.zero_(this);
    return this;
  }
  fill_(value: number | boolean): this {
    N.fill_(this, value);
    return this;
  }
  /** Copies src (broadcast) into this tensor. */
  copy_(src: Tensor): this {
    N.copy_(this, src);
    return this;
  }
  maskedFill_(mask: Tensor, value: TS): this {
    N.maskedFill_(this, mask, value);
    return this;
  }
  uniform_(from = 0, to = 1): this {
    N.uniform_(this, from, to);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    N.normal_(this, mean, std);
    return this;
  }
  /** this[idx] = value */
  indexPut_(index: idx.Index[], value: TS, accumulate = false): this {
    idx.indexPut_(this, index, value, accumulate);
    return this;
  }

  // ---- reductions ----
  sum(dim?: red.Dims | null, keepdim = false, dtype?: DType): Tensor {
    return red.sum(this, dim, keepdim, dtype);
  }
  mean(dim?: red.Dims | null, keepdim = false, dtype?: DType): Tensor {
    return red.mean(this, dim, keepdim, dtype);
  }
  prod(dim?: number | null, keepdim = false): Tensor {
    return red.prod(this, dim, keepdim);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): red.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.max(this) : red.max(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): red.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.min(this) : red.min(this, dim, keepdim);
  }
  amax(dim: red.Dims = [], keepdim = false): Tensor {
    return red.amax(this, dim, keepdim);
  }
  amin(dim: red.Dims = [], keepdim = false): Tensor {
    return red.amin(this, dim, keepdim);
  }
  argmax(dim?: number | null, keepdim = false): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  argmin(dim?: number | null, keepdim = false): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  std(dim?: red.Dims | null, opts?: red.VarOptions): Tensor {
    return red.std(this, dim, opts);
  }
  var(dim?: red.Dims | null, opts?: red.VarOptions): Tensor {
    return red.variance(this, dim, opts);
  }
  norm(p = 2, dim?: red.Dims | null, keepdim = false): Tensor {
    return red.norm(this, p, dim, keepdim);
  }
  logsumexp(dim: red.Dims, keepdim = false): Tensor {
    return red.logsumexp(this, dim, keepdim);
  }
  all(dim?: number | null, keepdim = false): Tensor {
    return red.all(this, dim, keepdim);
  }
  any(dim?: number | null, keepdim = false): Tensor {
    return red.any(this, dim, keepdim);
  }
  cumsum(dim: number, dtype?: DType): Tensor {
    return red.cumsum(this, dim, dtype);
  }
  cumprod(dim: number): Tensor {
    return red.cumprod(this, dim);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): red.ValuesIndices {
    return red.topk(this, k, dim, largest, sorted);
  }
  sort(dim = -1, descending = false, stable = false): red.ValuesIndices {
    return red.sort(this, dim, descending, stable);
  }
  argsort(dim = -1, descending = false): Tensor {
    return red.argsort(this, dim, descending);
  }

  // ---- shape and indexing ----
  reshape(...shape: ShapeArg[]): Tensor {
    return N.reshape(this, sh.shapeOf(shape));
  }
  view(...shape: ShapeArg[]): Tensor {
    return N.view(this, sh.shapeOf(shape));
  }
  viewAs(other: Tensor): Tensor {
    return N.view(this, N.shape(other));
  }
  permute(...dims: ShapeArg[]): Tensor {
    return N.permute(this, sh.shapeOf(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return N.transpose(this, dim0, dim1);
  }
  /** 2-D transpose. */
  t(): Tensor {
    return N.transpose(this, 0, 1);
  }
  /** Transpose of the last two dims. */
  get mT(): Tensor {
    return N.transpose(this, -2, -1);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return N.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return N.select(this, dim, index);
  }
  slice(dim: number, start: number | null = null, end: number | null = null, step = 1): Tensor {
    return N.slice(this, dim, start, end, step);
  }
  /** Python indexing: t.index(0, ':', sl(1, null, 2), null, '...', idxTensor) is t[0, :, 1::2, None, ..., idx]. */
  index(...index: idx.Index[]): Tensor {
    return idx.index(this, ...index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return N.indexSelect(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return N.gather(this, dim, index);
  }
  scatter(dim: number, index: Tensor, src: TS): Tensor {
    return N.scatter(this, dim, index, src);
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return N.scatterAdd(this, dim, index, src);
  }
  maskedSelect(mask: Tensor): Tensor {
    return N.maskedSelect(this, mask);
  }
  expand(...sizes: ShapeArg[]): Tensor {
    return N.expand(this, sh.shapeOf(sizes));
  }
  expandAs(other: Tensor): Tensor {
    return N.expand(this, N.shape(other));
  }
  repeat(...reps: ShapeArg[]): Tensor {
    return N.repeat(this, sh.shapeOf(reps));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return N.flatten(this, startDim, endDim);
  }
  unflatten(dim: number, sizes: number[]): Tensor {
    return N.unflatten(this, dim, sizes);
  }
  squeeze(dim?: number): Tensor {
    return N.squeeze(this, dim ?? null);
  }
  unsqueeze(dim: number): Tensor {
    return N.unsqueeze(this, dim);
  }
  split(sizes: number | number[], dim = 0): Tensor[] {
    return N.split(this, sizes, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return N.chunk(this, chunks, dim);
  }
  unbind(dim = 0): Tensor[] {
    return N.unbind(this, dim);
  }
  nonzero(): Tensor {
    return N.nonzero(this);
  }
  flip(...dims: ShapeArg[]): Tensor {
    return N.flip(this, sh.shapeOf(dims));
  }
  tril(diagonal = 0): Tensor {
    return N.tril(this, diagonal);
  }
  triu(diagonal = 0): Tensor {
    return N.triu(this, diagonal);
  }
  movedim(source: number | number[], destination: number | number[]): Tensor {
    return sh.movedim(this, source, destination);
  }

  // ---- linear algebra ----
  matmul(other: Tensor): Tensor {
    return la.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return N.mm(this, other);
  }
  bmm(other: Tensor): Tensor {
    return N.bmm(this, other);
  }

  // ---- softmax family (as Tensor methods in PyTorch) ----
  softmax(dim: number, dtype?: DType): Tensor {
    return N.softmax(this, dim, dtype === undefined ? undefined : dtypeCode(dtype));
  }
  logSoftmax(dim: number, dtype?: DType): Tensor {
    return N.logSoftmax(this, dim, dtype === undefined ? undefined : dtypeCode(dtype));
  }

  toString(): string {
    if (N.isDisposed(this)) return 'Tensor(disposed)';
    const head = `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}`;
    if (this.numel() > 64) return head + ')';
    return `${head}, values=${JSON.stringify(this.toArray())})`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

const DTYPE_SET: Record<string, true> = {
  float32: true,
  float64: true,
  float16: true,
  bfloat16: true,
  int64: true,
  int32: true,
  int16: true,
  int8: true,
  uint8: true,
  bool: true,
};

// Objects the addon creates get Tensor's methods. Done once, before any tensor exists.
Object.setPrototypeOf(N.NativeTensor.prototype, Tensor.prototype);
