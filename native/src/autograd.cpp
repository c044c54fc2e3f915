// Autograd: requires_grad, backward, .grad, grad mode, zeroing and clipping gradients.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).requires_grad());
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).requires_grad_(ArgBool(info, 1));
  return info.Env().Undefined();
}

Napi::Value Grad(const Napi::CallbackInfo& info) { return WrapOrNull(info.Env(), ArgTensor(info, 0).grad()); }

// setGrad(t, g | null)
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = ArgTensor(info, 0);
  c10::optional<at::Tensor> g = ArgOptTensor(info, 1);
  if (g) {
    TORCH_CHECK(g->sizes() == t.sizes(), "assigned grad has shape ", g->sizes(), " but the tensor has ", t.sizes());
    t.mutable_grad() = *g;
  } else {
    t.mutable_grad().reset();
  }
  return info.Env().Undefined();
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).is_leaf()); }

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  ArgTensor(info, 0).retain_grad();
  return info.Env().Undefined();
}

Napi::Value Detach(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).detach()); }

// backward(t, grad?, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  c10::optional<at::Tensor> g = ArgOptTensor(info, 1);
  TORCH_CHECK(t.requires_grad(), "backward(): the tensor does not require grad and has no grad_fn");
  if (!g) TORCH_CHECK(t.numel() == 1, "backward(): a gradient is needed for a non-scalar output of shape ", t.sizes());
  t.backward(g ? *g : at::Tensor(), ArgBool(info, 2), ArgBool(info, 3));
  return info.Env().Undefined();
}

// setGradEnabled(flag) -> previous
Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  const bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(ArgBool(info, 0));
  return Napi::Boolean::New(info.Env(), prev);
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// zeroGrad(params[], setToNone)
Napi::Value ZeroGrad(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> ps = ArgTensorList(info, 0);
  const bool none = ArgBool(info, 1);
  at::NoGradGuard ng;
  for (auto& p : ps) {
    at::Tensor& g = p.mutable_grad();
    if (!g.defined()) continue;
    if (none) {
      g.reset();
    } else {
      if (g.grad_fn()) g = g.detach();
      else g.requires_grad_(false);
      g.zero_();
    }
  }
  return info.Env().Undefined();
}

// clipGradNorm(params[], maxNorm, normType) -> total norm (0-d), gradients scaled in place.
Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> ps = ArgTensorList(info, 0);
  const double max_norm = ArgDouble(info, 1);
  const double p = ArgDouble(info, 2);
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads;
  for (auto& t : ps) {
    if (t.grad().defined()) grads.push_back(t.grad());
  }
  if (grads.empty()) return Wrap(info.Env(), at::zeros({}, at::kFloat));
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  for (auto& g : grads) norms.push_back(at::linalg_vector_norm(g, p, c10::nullopt, false, at::kFloat));
  at::Tensor total = at::linalg_vector_norm(at::stack(norms), p, c10::nullopt, false, c10::nullopt);
  at::Tensor coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);
  for (auto& g : grads) g.mul_(coef.to(g.device(), g.scalar_type()));
  return Wrap(info.Env(), total);
}

// autogradGrad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused) -> (T|null)[]
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  std::vector<at::Tensor> outs = ArgTensorList(info, 0);
  std::vector<at::Tensor> ins = ArgTensorList(info, 1);
  std::vector<at::Tensor> gouts;
  if (!IsMissing(info[2])) {
    Napi::Array arr = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value v = arr.Get(i);
      gouts.push_back(IsMissing(v) ? at::Tensor() : ToTensor(v));
    }
  }
  auto res = torch::autograd::grad(outs, ins, gouts, ArgBool(info, 3), ArgBool(info, 4), ArgBool(info, 5));
  Napi::Array out = Napi::Array::New(info.Env(), res.size());
  for (size_t i = 0; i < res.size(); ++i) out.Set(static_cast<uint32_t>(i), WrapOrNull(info.Env(), res[i]));
  return out;
}

}  // namespace

void InitAutograd(Napi::Env env, Napi::Object exports) {
  Export<RequiresGrad>(env, exports, "requiresGrad");
  Export<SetRequiresGrad>(env, exports, "setRequiresGrad");
  Export<Grad>(env, exports, "grad");
  Export<SetGrad>(env, exports, "setGrad");
  Export<IsLeaf>(env, exports, "isLeaf");
  Export<RetainGrad>(env, exports, "retainGrad");
  Export<Detach>(env, exports, "detach");
  Export<Backward>(env, exports, "backward");
  Export<SetGradEnabled>(env, exports, "setGradEnabled");
  Export<IsGradEnabled>(env, exports, "isGradEnabled");
  Export<ZeroGrad>(env, exports, "zeroGrad");
  Export<ClipGradNorm>(env, exports, "clipGradNorm");
  Export<AutogradGrad>(env, exports, "autogradGrad");
}

}  // namespace wish
