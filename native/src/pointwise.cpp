// Element-wise math. Ops are selected by small integer codes (kept in sync with src/engine/ops/codes.ts)
// so that one binding serves each family and every op is still a single N-API call.
#include <ATen/ATen.h>
#include <ATen/ScalarOps.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// A tensor argument, or a JS number/boolean as a "wrapped number" (promotes like a Python scalar).
at::Tensor TensorOrScalar(const Napi::Value& v) {
  if (v.IsNumber() || v.IsBoolean()) return at::native::wrapped_scalar_tensor(ToScalar(v));
  return ToTensor(v);
}

at::Tensor BinaryOp(int64_t op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case 0: return at::add(a, b);
    case 1: return at::sub(a, b);
    case 2: return at::mul(a, b);
    case 3: return at::div(a, b);
    case 4: return at::pow(a, b);
    case 5: return at::maximum(a, b);
    case 6: return at::minimum(a, b);
    case 7: return at::eq(a, b);
    case 8: return at::ne(a, b);
    case 9: return at::lt(a, b);
    case 10: return at::le(a, b);
    case 11: return at::gt(a, b);
    case 12: return at::ge(a, b);
    case 13: return at::logical_and(a, b);
    case 14: return at::logical_or(a, b);
    case 15: return at::logical_xor(a, b);
    case 16: return at::remainder(a, b);
    case 17: return at::div(a, b, "floor");
    case 18: return at::atan2(a, b);
    case 19: return at::bitwise_and(a, b);
    case 20: return at::bitwise_or(a, b);
    case 21: return at::fmod(a, b);
    case 22: return at::div(a, b, "trunc");
    default: throw std::invalid_argument("unknown binary op code " + std::to_string(op));
  }
}

// binary(a, b, op): a and/or b may be numbers.
Napi::Value Binary(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), BinaryOp(ArgInt(info, 2), TensorOrScalar(info[0]), TensorOrScalar(info[1])));
}

// add(a, b, alpha) = a + alpha * b ; sub likewise via alpha < 0 is not exact for ints, so separate codes.
Napi::Value AddScaled(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::add(ToTensor(info[0]), TensorOrScalar(info[1]), ToScalar(info[2])));
}

// binary_(a, b, op, alpha?): in place on a; codes 0 add, 1 sub, 2 mul, 3 div, 4 pow, 16 remainder.
Napi::Value BinaryInplace(const Napi::CallbackInfo& info) {
  at::Tensor& a = ArgTensor(info, 0);
  const at::Tensor b = TensorOrScalar(info[1]);
  const int64_t op = ArgInt(info, 2);
  const c10::Scalar alpha = info.Length() > 3 && !IsMissing(info[3]) ? ToScalar(info[3]) : c10::Scalar(1);
  switch (op) {
    case 0: a.add_(b, alpha); break;
    case 1: a.sub_(b, alpha); break;
    case 2: a.mul_(b); break;
    case 3: a.div_(b); break;
    case 4: a.pow_(b); break;
    case 16: a.remainder_(b); break;
    default: throw std::invalid_argument("binary op code " + std::to_string(op) + " has no in-place form");
  }
  return info.Env().Undefined();
}

at::Tensor UnaryOp(int64_t op, const at::Tensor& t) {
  switch (op) {
    case 0: return at::neg(t);
    case 1: return at::abs(t);
    case 2: return at::exp(t);
    case 3: return at::log(t);
    case 4: return at::sqrt(t);
    case 5: return at::rsqrt(t);
    case 6: return at::sin(t);
    case 7: return at::cos(t);
    case 8: return at::tanh(t);
    case 9: return at::sigmoid(t);
    case 10: return at::relu(t);
    case 11: return at::gelu(t, "none");  // exact: x * Phi(x) with erf
    case 12: return at::gelu(t, "tanh");
    case 13: return at::silu(t);
    case 14: return at::floor(t);
    case 15: return at::ceil(t);
    case 16: return at::round(t);
    case 17: return at::sign(t);
    case 18: return at::logical_not(t);
    case 19: return at::reciprocal(t);
    case 20: return at::log1p(t);
    case 21: return at::expm1(t);
    case 22: return at::erf(t);
    case 23: return at::isnan(t);
    case 24: return at::isinf(t);
    case 25: return at::square(t);
    case 26: return at::log2(t);
    case 27: return at::isfinite(t);
    case 28: return at::trunc(t);
    case 29: return at::erfinv(t);
    case 30: return at::atan(t);
    case 31: return at::asin(t);
    case 32: return at::acos(t);
    case 33: return at::tan(t);
    case 34: return at::bitwise_not(t);
    case 35: return at::log_sigmoid(t);
    case 36: return at::mish(t);
    case 37: return at::hardswish(t);
    case 38: return at::hardsigmoid(t);
    case 39: return at::sinh(t);
    case 40: return at::cosh(t);
    case 41: return at::log10(t);
    case 42: return at::exp2(t);
    default: throw std::invalid_argument("unknown unary op code " + std::to_string(op));
  }
}

Napi::Value Unary(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), UnaryOp(ArgInt(info, 1), ArgTensor(info, 0)));
}

// unary_(t, op): in place; a subset with in-place kernels.
Napi::Value UnaryInplace(const Napi::CallbackInfo& info) {
  at::Tensor& t = ArgTensor(info, 0);
  const int64_t op = ArgInt(info, 1);
  switch (op) {
    case 0: t.neg_(); break;
    case 1: t.abs_(); break;
    case 2: t.exp_(); break;
    case 3: t.log_(); break;
    case 4: t.sqrt_(); break;
    case 8: t.tanh_(); break;
    case 9: t.sigmoid_(); break;
    case 10: t.relu_(); break;
    case 13: at::silu_(t); break;
    case 14: t.floor_(); break;
    case 16: t.round_(); break;
    case 19: t.reciprocal_(); break;
    default: throw std::invalid_argument("unary op code " + std::to_string(op) + " has no in-place form");
  }
  return info.Env().Undefined();
}

// clamp(t, min?, max?): numbers or tensors; clamp_(t, min?, max?) in place.
Napi::Value Clamp(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsTensor(info[1]) || IsTensor(info[2])) {
    return Wrap(info.Env(), at::clamp(t, ArgOptTensor(info, 1), ArgOptTensor(info, 2)));
  }
  return Wrap(info.Env(), at::clamp(t, ArgOptScalar(info, 1), ArgOptScalar(info, 2)));
}
Napi::Value Clamp_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).clamp_(ArgOptScalar(info, 1), ArgOptScalar(info, 2));
  return info.Env().Undefined();
}

// where(cond, a, b): a and b may be numbers.
Napi::Value Where(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::where(ArgTensor(info, 0), TensorOrScalar(info[1]), TensorOrScalar(info[2])));
}

// lerp(a, b, weight): weight a number or tensor.
Napi::Value Lerp(const Napi::CallbackInfo& info) {
  const at::Tensor& a = ArgTensor(info, 0);
  const at::Tensor& b = ArgTensor(info, 1);
  if (IsTensor(info[2])) return Wrap(info.Env(), at::lerp(a, b, ArgTensor(info, 2)));
  return Wrap(info.Env(), at::lerp(a, b, ToScalar(info[2])));
}

// addcmul(t, a, b, value) = t + value * a * b ; addcdiv likewise with a / b.
Napi::Value Addcmul(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::addcmul(ArgTensor(info, 0), ArgTensor(info, 1), ArgTensor(info, 2), ToScalar(info[3])));
}
Napi::Value Addcdiv(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::addcdiv(ArgTensor(info, 0), ArgTensor(info, 1), ArgTensor(info, 2), ToScalar(info[3])));
}

// Parametrised activations.
Napi::Value LeakyRelu(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::leaky_relu(ArgTensor(info, 0), ToScalar(info[1])));
}
Napi::Value Elu(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::elu(ArgTensor(info, 0), ToScalar(info[1]))); }
Napi::Value Softplus(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::softplus(ArgTensor(info, 0), ToScalar(info[1]), ToScalar(info[2])));
}
Napi::Value Hardtanh(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::hardtanh(ArgTensor(info, 0), ToScalar(info[1]), ToScalar(info[2])));
}
Napi::Value NanToNum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::nan_to_num(ArgTensor(info, 0), ArgOptDouble(info, 1), ArgOptDouble(info, 2), ArgOptDouble(info, 3)));
}

// to(t, dtype?, device?, copy): dtype / device conversion (returns t's data when nothing changes and !copy).
Napi::Value To(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  const at::ScalarType dt = ArgOptDtype(info, 1).value_or(t.scalar_type());
  const at::Device dev = IsMissing(info[2]) ? t.device() : ArgDevice(info, 2);
  return Wrap(info.Env(), t.to(dev, dt, /*non_blocking=*/false, /*copy=*/ArgBool(info, 3)));
}

Napi::Value Clone(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).clone()); }
Napi::Value Contiguous(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).contiguous()); }

// copy_(dst, src): in place, broadcasting src.
Napi::Value Copy_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).copy_(ArgTensor(info, 1));
  return info.Env().Undefined();
}

// isclose(a, b, rtol, atol, equalNan)
Napi::Value Isclose(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::isclose(ArgTensor(info, 0), ArgTensor(info, 1), ArgDouble(info, 2), ArgDouble(info, 3), ArgBool(info, 4)));
}

}  // namespace

void InitPointwise(Napi::Env env, Napi::Object exports) {
  Export<Binary>(env, exports, "binary");
  Export<AddScaled>(env, exports, "addScaled");
  Export<BinaryInplace>(env, exports, "binary_");
  Export<Unary>(env, exports, "unary");
  Export<UnaryInplace>(env, exports, "unary_");
  Export<Clamp>(env, exports, "clamp");
  Export<Clamp_>(env, exports, "clamp_");
  Export<Where>(env, exports, "where");
  Export<Lerp>(env, exports, "lerp");
  Export<Addcmul>(env, exports, "addcmul");
  Export<Addcdiv>(env, exports, "addcdiv");
  Export<LeakyRelu>(env, exports, "leakyRelu");
  Export<Elu>(env, exports, "elu");
  Export<Softplus>(env, exports, "softplus");
  Export<Hardtanh>(env, exports, "hardtanh");
  Export<NanToNum>(env, exports, "nanToNum");
  Export<To>(env, exports, "to");
  Export<Clone>(env, exports, "clone");
  Export<Contiguous>(env, exports, "contiguous");
  Export<Copy_>(env, exports, "copy_");
  Export<Isclose>(env, exports, "isclose");
}

}  // namespace wish
