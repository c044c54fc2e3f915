// Reductions, scans, sorting.
#include <ATen/ATen.h>
#include <torch/version.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// Dims argument: null -> all dims (an empty OptionalIntArrayRef means "all" for sum/mean/norm/var).
c10::optional<std::vector<int64_t>> OptDims(const Napi::CallbackInfo& info, size_t i) {
  if (IsMissing(info[i])) return c10::nullopt;
  return ArgInts(info, i);
}

// std/var correction: an int in 1.13, an optional Scalar from 2.0.
#if TORCH_VERSION_MAJOR >= 2
c10::optional<c10::Scalar> Correction(int64_t c) { return c10::Scalar(c); }
#else
c10::optional<int64_t> Correction(int64_t c) { return c; }
#endif

Napi::Value Pair(Napi::Env env, const std::tuple<at::Tensor, at::Tensor>& p) {
  return WrapList(env, {std::get<0>(p), std::get<1>(p)});
}

// sum(t, dims|null, keepdim, dtype?)
Napi::Value Sum(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  auto dims = OptDims(info, 1);
  auto dt = ArgOptDtype(info, 3);
  if (!dims) return Wrap(info.Env(), at::sum(t, dt));
  return Wrap(info.Env(), at::sum(t, *dims, ArgBool(info, 2), dt));
}

Napi::Value Mean(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  auto dims = OptDims(info, 1);
  auto dt = ArgOptDtype(info, 3);
  if (!dims) return Wrap(info.Env(), at::mean(t, dt));
  return Wrap(info.Env(), at::mean(t, *dims, ArgBool(info, 2), dt));
}

// prod(t, dim|null, keepdim)
Napi::Value Prod(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsMissing(info[1])) return Wrap(info.Env(), at::prod(t));
  return Wrap(info.Env(), at::prod(t, ArgInt(info, 1), ArgBool(info, 2)));
}

Napi::Value Amax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::amax(ArgTensor(info, 0), ArgInts(info, 1), ArgBool(info, 2)));
}
Napi::Value Amin(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::amin(ArgTensor(info, 0), ArgInts(info, 1), ArgBool(info, 2)));
}
Napi::Value MaxAll(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::max(ArgTensor(info, 0))); }
Napi::Value MinAll(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::min(ArgTensor(info, 0))); }
Napi::Value MaxDim(const Napi::CallbackInfo& info) {
  return Pair(info.Env(), at::max(ArgTensor(info, 0), ArgInt(info, 1), ArgBool(info, 2)));
}
Napi::Value MinDim(const Napi::CallbackInfo& info) {
  return Pair(info.Env(), at::min(ArgTensor(info, 0), ArgInt(info, 1), ArgBool(info, 2)));
}
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::argmax(ArgTensor(info, 0), ArgOptInt(info, 1), ArgBool(info, 2)));
}
Napi::Value Argmin(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::argmin(ArgTensor(info, 0), ArgOptInt(info, 1), ArgBool(info, 2)));
}

// std / var (t, dims|null, correction, keepdim)
Napi::Value Std(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  return Wrap(info.Env(), at::std(ArgTensor(info, 0), dims ? at::OptionalIntArrayRef(*dims) : at::OptionalIntArrayRef(),
                                  Correction(ArgInt(info, 2)), ArgBool(info, 3)));
}
Napi::Value Var(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 1);
  return Wrap(info.Env(), at::var(ArgTensor(info, 0), dims ? at::OptionalIntArrayRef(*dims) : at::OptionalIntArrayRef(),
                                  Correction(ArgInt(info, 2)), ArgBool(info, 3)));
}

// norm(t, p, dims|null, keepdim): vector norm (p may be +-Infinity)
Napi::Value Norm(const Napi::CallbackInfo& info) {
  auto dims = OptDims(info, 2);
  return Wrap(info.Env(), at::linalg_vector_norm(ArgTensor(info, 0), ArgDouble(info, 1),
                                                 dims ? at::OptionalIntArrayRef(*dims) : at::OptionalIntArrayRef(),
                                                 ArgBool(info, 3), c10::nullopt));
}

Napi::Value Logsumexp(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::logsumexp(ArgTensor(info, 0), ArgInts(info, 1), ArgBool(info, 2)));
}

Napi::Value All(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsMissing(info[1])) return Wrap(info.Env(), at::all(t));
  return Wrap(info.Env(), at::all(t, ArgInt(info, 1), ArgBool(info, 2)));
}
Napi::Value Any(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsMissing(info[1])) return Wrap(info.Env(), at::any(t));
  return Wrap(info.Env(), at::any(t, ArgInt(info, 1), ArgBool(info, 2)));
}

Napi::Value Cumsum(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cumsum(ArgTensor(info, 0), ArgInt(info, 1), ArgOptDtype(info, 2)));
}
Napi::Value Cumprod(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cumprod(ArgTensor(info, 0), ArgInt(info, 1)));
}

// topk(t, k, dim, largest, sorted) -> [values, indices]
Napi::Value Topk(const Napi::CallbackInfo& info) {
  return Pair(info.Env(), at::topk(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2), ArgBool(info, 3), ArgBool(info, 4)));
}
// sort(t, dim, descending, stable) -> [values, indices]
Napi::Value Sort(const Napi::CallbackInfo& info) {
  return Pair(info.Env(), at::sort(ArgTensor(info, 0), ArgBool(info, 3), ArgInt(info, 1), ArgBool(info, 2)));
}
Napi::Value Argsort(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::argsort(ArgTensor(info, 0), ArgInt(info, 1), ArgBool(info, 2)));
}

// unique(t, sorted, returnInverse, returnCounts) -> [values, inverse, counts]
Napi::Value Unique(const Napi::CallbackInfo& info) {
  auto r = at::_unique2(ArgTensor(info, 0), ArgBool(info, 1), ArgBool(info, 2), ArgBool(info, 3));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r), std::get<2>(r)});
}

Napi::Value CountNonzero(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsMissing(info[1])) return Wrap(info.Env(), at::count_nonzero(t));
  return Wrap(info.Env(), at::count_nonzero(t, ArgInts(info, 1)));
}

// bincount(t, weights?, minlength)
Napi::Value Bincount(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::bincount(ArgTensor(info, 0), ArgOptTensor(info, 1), ArgInt(info, 2)));
}

}  // namespace

void InitReduce(Napi::Env env, Napi::Object exports) {
  Export<Sum>(env, exports, "sum");
  Export<Mean>(env, exports, "mean");
  Export<Prod>(env, exports, "prod");
  Export<Amax>(env, exports, "amax");
  Export<Amin>(env, exports, "amin");
  Export<MaxAll>(env, exports, "maxAll");
  Export<MinAll>(env, exports, "minAll");
  Export<MaxDim>(env, exports, "maxDim");
  Export<MinDim>(env, exports, "minDim");
  Export<Argmax>(env, exports, "argmax");
  Export<Argmin>(env, exports, "argmin");
  Export<Std>(env, exports, "std");
  Export<Var>(env, exports, "var");
  Export<Norm>(env, exports, "norm");
  Export<Logsumexp>(env, exports, "logsumexp");
  Export<All>(env, exports, "all");
  Export<Any>(env, exports, "any");
  Export<Cumsum>(env, exports, "cumsum");
  Export<Cumprod>(env, exports, "cumprod");
  Export<Topk>(env, exports, "topk");
  Export<Sort>(env, exports, "sort");
  Export<Argsort>(env, exports, "argsort");
  Export<Unique>(env, exports, "unique");
  Export<CountNonzero>(env, exports, "countNonzero");
  Export<Bincount>(env, exports, "bincount");
}

}  // namespace wish
