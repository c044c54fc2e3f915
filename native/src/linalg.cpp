// Matrix products.
#include <ATen/ATen.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

Napi::Value Matmul(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::matmul(ArgTensor(info, 0), ArgTensor(info, 1))); }
Napi::Value Mm(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::mm(ArgTensor(info, 0), ArgTensor(info, 1))); }
Napi::Value Bmm(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::bmm(ArgTensor(info, 0), ArgTensor(info, 1))); }
Napi::Value Outer(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::outer(ArgTensor(info, 0), ArgTensor(info, 1))); }

// linear(x, weight, bias?) = x @ weight^T + bias
Napi::Value Linear(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::linear(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2)));
}

// einsum(equation, tensors[])
Napi::Value Einsum(const Napi::CallbackInfo& info) {
  const std::string eq = ArgString(info, 0);
  return Wrap(info.Env(), at::einsum(eq, ArgTensorList(info, 1)));
}

// baddbmm(input, b1, b2, beta, alpha) = beta * input + alpha * b1 @ b2
Napi::Value Baddbmm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::baddbmm(ArgTensor(info, 0), ArgTensor(info, 1), ArgTensor(info, 2), ToScalar(info[3]), ToScalar(info[4])));
}

// cdist(x1, x2, p): pairwise distances [.., P, M]
Napi::Value Cdist(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cdist(ArgTensor(info, 0), ArgTensor(info, 1), ArgDouble(info, 2)));
}

}  // namespace

void InitLinalg(Napi::Env env, Napi::Object exports) {
  Export<Matmul>(env, exports, "matmul");
  Export<Mm>(env, exports, "mm");
  Export<Bmm>(env, exports, "bmm");
  Export<Outer>(env, exports, "outer");
  Export<Linear>(env, exports, "linear");
  Export<Einsum>(env, exports, "einsum");
  Export<Baddbmm>(env, exports, "baddbmm");
  Export<Cdist>(env, exports, "cdist");
}

}  // namespace wish
