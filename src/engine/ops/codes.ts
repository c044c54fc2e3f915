// Op codes understood by the addon's families (native/src/pointwise.cpp, loss.cpp, sample.cpp).
// Keep in sync with the switch statements there.

export const BIN = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  ne: 8,
  lt: 9,
  le: 10,
  gt: 11,
  ge: 12,
  logicalAnd: 13,
  logicalOr: 14,
  logicalXor: 15,
  remainder: 16,
  floorDivide: 17,
  atan2: 18,
  bitwiseAnd: 19,
  bitwiseOr: 20,
  fmod: 21,
  truncDivide: 22,
} as const;

export const UN = {
  neg: 0,
  abs: 1,
  exp: 2,
  log: 3,
  sqrt: 4,
  rsqrt: 5,
  sin: 6,
  cos: 7,
  tanh: 8,
  sigmoid: 9,
  relu: 10,
  gelu: 11,
  geluTanh: 12,
  silu: 13,
  floor: 14,
  ceil: 15,
  round: 16,
  sign: 17,
  logicalNot: 18,
  reciprocal: 19,
  log1p: 20,
  expm1: 21,
  erf: 22,
  isnan: 23,
  isinf: 24,
  square: 25,
  log2: 26,
  isfinite: 27,
  trunc: 28,
  erfinv: 29,
  atan: 30,
  asin: 31,
  acos: 32,
  tan: 33,
  bitwiseNot: 34,
  logSigmoid: 35,
  mish: 36,
  hardswish: 37,
  hardsigmoid: 38,
  sinh: 39,
  cosh: 40,
  log10: 41,
  exp2: 42,
} as const;

/** Loss reductions, as libtorch's at::Reduction enum. */
export type Reduction = 'none' | 'mean' | 'sum';
export function reductionCode(r: Reduction): number {
  switch (r) {
    case 'none':
      return 0;
    case 'mean':
      return 1;
    case 'sum':
      return 2;
    default:
      throw new TypeError(`unknown reduction '${String(r)}' (expected 'none', 'mean' or 'sum')`);
  }
}
