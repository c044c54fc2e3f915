// Factory functions (zeros, arange, rand, ...) and in-place random initialisers.
#include <ATen/ATen.h>

#include "generator.h"
#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// Options from (dtype code?, device string?) at argument positions i, i+1; float32 when absent.
at::TensorOptions Opts(const Napi::CallbackInfo& info, size_t i, at::ScalarType def = at::kFloat) {
  return at::TensorOptions().dtype(ArgOptDtype(info, i).value_or(def)).device(ArgDevice(info, i + 1));
}

// ---- (shape, dtype?, device?) ----
Napi::Value Zeros(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::zeros(ArgInts(info, 0), Opts(info, 1))); }
Napi::Value Ones(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::ones(ArgInts(info, 0), Opts(info, 1))); }
Napi::Value Empty(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::empty(ArgInts(info, 0), Opts(info, 1))); }

// full(shape, value, dtype?, device?)
Napi::Value Full(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::full(ArgInts(info, 0), ToScalar(info[1]), Opts(info, 2)));
}

// arange(start, end, step, dtype?, device?): int64 for integral arguments when no dtype, like PyTorch.
Napi::Value Arange(const Napi::CallbackInfo& info) {
  const c10::Scalar s = ToScalar(info[0]), e = ToScalar(info[1]), st = ToScalar(info[2]);
  const bool integral = s.isIntegral(false) && e.isIntegral(false) && st.isIntegral(false);
  return Wrap(info.Env(), at::arange(s, e, st, Opts(info, 3, integral ? at::kLong : at::kFloat)));
}

// linspace(start, end, steps, dtype?, device?)
Napi::Value Linspace(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linspace(ToScalar(info[0]), ToScalar(info[1]), ArgInt(info, 2), Opts(info, 3)));
}

// eye(n, m, dtype?, device?)
Napi::Value Eye(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::eye(ArgInt(info, 0), ArgInt(info, 1), Opts(info, 2)));
}

// ---- random: (shape, dtype?, device?, generator?) ----
Napi::Value Rand(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::rand(ArgInts(info, 0), ArgOptGenerator(info, 3), Opts(info, 1)));
}
Napi::Value Randn(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randn(ArgInts(info, 0), ArgOptGenerator(info, 3), Opts(info, 1)));
}
// randint(low, high, shape, dtype?, device?, generator?) -> int64 by default
Napi::Value Randint(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randint(ArgInt(info, 0), ArgInt(info, 1), ArgInts(info, 2), ArgOptGenerator(info, 5),
                                      Opts(info, 3, at::kLong)));
}
// randperm(n, dtype?, device?, generator?)
Napi::Value Randperm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::randperm(ArgInt(info, 0), ArgOptGenerator(info, 3), Opts(info, 1, at::kLong)));
}

// ---- *_like(t, dtype?) ----
at::TensorOptions LikeOpts(const Napi::CallbackInfo& info, const at::Tensor& t) {
  return t.options().dtype(ArgOptDtype(info, 1).value_or(t.scalar_type()));
}
Napi::Value ZerosLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Wrap(info.Env(), at::zeros(t.sizes(), LikeOpts(info, t)));
}
Napi::Value OnesLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Wrap(info.Env(), at::ones(t.sizes(), LikeOpts(info, t)));
}
Napi::Value EmptyLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Wrap(info.Env(), at::empty(t.sizes(), LikeOpts(info, t)));
}
// fullLike(t, value, dtype?)
Napi::Value FullLike(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Wrap(info.Env(), at::full(t.sizes(), ToScalar(info[1]), t.options().dtype(ArgOptDtype(info, 2).value_or(t.scalar_type()))));
}

// ---- in-place initialisers (return nothing; JS returns the tensor itself) ----
// uniform_(t, from, to, generator?)
Napi::Value Uniform_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).uniform_(ArgDouble(info, 1), ArgDouble(info, 2), ArgOptGenerator(info, 3));
  return info.Env().Undefined();
}
// normal_(t, mean, std, generator?)
Napi::Value Normal_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).normal_(ArgDouble(info, 1), ArgDouble(info, 2), ArgOptGenerator(info, 3));
  return info.Env().Undefined();
}
// bernoulli(t: probabilities, generator?) -> new tensor of 0/1 in t's dtype
Napi::Value Bernoulli(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::bernoulli(ArgTensor(info, 0), ArgOptGenerator(info, 1)));
}
// multinomial(probs, n, replacement, generator?)
Napi::Value Multinomial(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::multinomial(ArgTensor(info, 0), ArgInt(info, 1), ArgBool(info, 2), ArgOptGenerator(info, 3)));
}
Napi::Value Fill_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).fill_(ToScalar(info[1]));
  return info.Env().Undefined();
}
Napi::Value Zero_(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).zero_();
  return info.Env().Undefined();
}

}  // namespace

void InitCreation(Napi::Env env, Napi::Object exports) {
  Export<Zeros>(env, exports, "zeros");
  Export<Ones>(env, exports, "ones");
  Export<Empty>(env, exports, "empty");
  Export<Full>(env, exports, "full");
  Export<Arange>(env, exports, "arange");
  Export<Linspace>(env, exports, "linspace");
  Export<Eye>(env, exports, "eye");
  Export<Rand>(env, exports, "rand");
  Export<Randn>(env, exports, "randn");
  Export<Randint>(env, exports, "randint");
  Export<Randperm>(env, exports, "randperm");
  Export<ZerosLike>(env, exports, "zerosLike");
  Export<OnesLike>(env, exports, "onesLike");
  Export<EmptyLike>(env, exports, "emptyLike");
  Export<FullLike>(env, exports, "fullLike");
  Export<Uniform_>(env, exports, "uniform_");
  Export<Normal_>(env, exports, "normal_");
  Export<Bernoulli>(env, exports, "bernoulli");
  Export<Multinomial>(env, exports, "multinomial");
  Export<Fill_>(env, exports, "fill_");
  Export<Zero_>(env, exports, "zero_");
}

}  // namespace wish
