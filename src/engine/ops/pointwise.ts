// Element-wise math with broadcasting, as torch.* functions. Either operand of a binary op may be a
// plain number (it promotes like a Python scalar: int tensors stay int for integral numbers).
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';
import { BIN, UN } from './codes.ts';

export type Scalar = number | boolean;
export type TensorOrScalar = Tensor | Scalar;

/** a + alpha * b */
export function add(a: TensorOrScalar, b: TensorOrScalar, alpha?: number): Tensor {
  if (alpha === undefined || alpha === 1) return N.binary(a, b, BIN.add);
  if (typeof a !== 'object') throw new TypeError('add(): with alpha, the first operand must be a Tensor');
  return N.addScaled(a, b, alpha);
}
/** a - alpha * b */
export function sub(a: TensorOrScalar, b: TensorOrScalar, alpha?: number): Tensor {
  if (alpha === undefined || alpha === 1) return N.binary(a, b, BIN.sub);
  if (typeof a !== 'object') throw new TypeError('sub(): with alpha, the first operand must be a Tensor');
  return N.addScaled(a, b, -alpha);
}
export const mul = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.mul);
/** True division (int / int gives float), like torch.div without rounding_mode. */
export const div = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.div);
export const pow = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.pow);
export const maximum = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.maximum);
export const minimum = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.minimum);
export const remainder = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.remainder);
export const fmod = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.fmod);
export const floorDivide = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.floorDivide);
export const atan2 = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.atan2);
export const eq = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.eq);
export const ne = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.ne);
export const lt = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.lt);
export const le = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.le);
export const gt = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.gt);
export const ge = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.ge);
export const logicalAnd = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.logicalAnd);
export const logicalOr = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.logicalOr);
export const logicalXor = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.logicalXor);
export const bitwiseAnd = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.bitwiseAnd);
export const bitwiseOr = (a: TensorOrScalar, b: TensorOrScalar): Tensor => N.binary(a, b, BIN.bitwiseOr);

export const neg = (t: Tensor): Tensor => N.unary(t, UN.neg);
export const abs = (t: Tensor): Tensor => N.unary(t, UN.abs);
export const exp = (t: Tensor): Tensor => N.unary(t, UN.exp);
export const exp2 = (t: Tensor): Tensor => N.unary(t, UN.exp2);
export const log = (t: Tensor): Tensor => N.unary(t, UN.log);
export const log2 = (t: Tensor): Tensor => N.unary(t, UN.log2);
export const log10 = (t: Tensor): Tensor => N.unary(t, UN.log10);
export const log1p = (t: Tensor): Tensor => N.unary(t, UN.log1p);
export const expm1 = (t: Tensor): Tensor => N.unary(t, UN.expm1);
export const sqrt = (t: Tensor): Tensor => N.unary(t, UN.sqrt);
export const rsqrt = (t: Tensor): Tensor => N.unary(t, UN.rsqrt);
export const square = (t: Tensor): Tensor => N.unary(t, UN.square);
export const reciprocal = (t: Tensor): Tensor => N.unary(t, UN.reciprocal);
export const sin = (t: Tensor): Tensor => N.unary(t, UN.sin);
export const cos = (t: Tensor): Tensor => N.unary(t, UN.cos);
export const tan = (t: Tensor): Tensor => N.unary(t, UN.tan);
export const asin = (t: Tensor): Tensor => N.unary(t, UN.asin);
export const acos = (t: Tensor): Tensor => N.unary(t, UN.acos);
export const atan = (t: Tensor): Tensor => N.unary(t, UN.atan);
export const sinh = (t: Tensor): Tensor => N.unary(t, UN.sinh);
export const cosh = (t: Tensor): Tensor => N.unary(t, UN.cosh);
export const tanh = (t: Tensor): Tensor => N.unary(t, UN.tanh);
export const sigmoid = (t: Tensor): Tensor => N.unary(t, UN.sigmoid);
export const erf = (t: Tensor): Tensor => N.unary(t, UN.erf);
export const erfinv = (t: Tensor): Tensor => N.unary(t, UN.erfinv);
export const floor = (t: Tensor): Tensor => N.unary(t, UN.floor);
export const ceil = (t: Tensor): Tensor => N.unary(t, UN.ceil);
export const round = (t: Tensor): Tensor => N.unary(t, UN.round);
export const trunc = (t: Tensor): Tensor => N.unary(t, UN.trunc);
export const sign = (t: Tensor): Tensor => N.unary(t, UN.sign);
export const logicalNot = (t: Tensor): Tensor => N.unary(t, UN.logicalNot);
export const bitwiseNot = (t: Tensor): Tensor => N.unary(t, UN.bitwiseNot);
export const isnan = (t: Tensor): Tensor => N.unary(t, UN.isnan);
export const isinf = (t: Tensor): Tensor => N.unary(t, UN.isinf);
export const isfinite = (t: Tensor): Tensor => N.unary(t, UN.isfinite);

/** clamp(t, min, max): either bound may be null/undefined; bounds may be numbers or tensors. */
export const clamp = (t: Tensor, min?: Tensor | number | null, max?: Tensor | number | null): Tensor => {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new TypeError('clamp(): at least one of min or max must be given');
  }
  return N.clamp(t, min, max);
};
/** torch.where(cond, a, b): a where cond is true, else b. */
export const where = (cond: Tensor, a: TensorOrScalar, b: TensorOrScalar): Tensor => N.where(cond, a, b);
/** a + w * (b - a) */
export const lerp = (a: Tensor, b: Tensor, w: Tensor | number): Tensor => N.lerp(a, b, w);
/** t + value * a * b */
export const addcmul = (t: Tensor, a: Tensor, b: Tensor, value = 1): Tensor => N.addcmul(t, a, b, value);
/** t + value * a / b */
export const addcdiv = (t: Tensor, a: Tensor, b: Tensor, value = 1): Tensor => N.addcdiv(t, a, b, value);
export const nanToNum = (t: Tensor, nan = 0, posinf?: number, neginf?: number): Tensor =>
  N.nanToNum(t, nan, posinf, neginf);
export const isclose = (a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8, equalNan = false): Tensor =>
  N.isclose(a, b, rtol, atol, equalNan);
/** True when a and b have equal shapes and every element is close (like torch.allclose). */
export function allclose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8, equalNan = false): boolean {
  const close = N.isclose(a, b, rtol, atol, equalNan);
  try {
    const all = N.all(close, null, false);
    try {
      return N.item(all) !== 0;
    } finally {
      N.dispose(all);
    }
  } finally {
    N.dispose(close);
  }
}
