// Optimiser steps: one native call updates every parameter of a parameter group, in place, under no-grad.
// The math is PyTorch 1.13's single-tensor SGD and AdamW (torch/optim/sgd.py, adamw.py), operation for
// operation, so trajectories match Python's. On CPU, float32/float64 contiguous tensors take a fused
// AdamW loop (one pass over memory instead of ~9 ATen kernels); everything else uses ATen in-place ops.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <cmath>
#include <type_traits>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// A JS array whose entries are Tensors or null/undefined (a parameter without that state).
std::vector<c10::optional<at::Tensor>> ArgOptTensorList(const Napi::CallbackInfo& info, size_t i, size_t n,
                                                        const char* what) {
  std::vector<c10::optional<at::Tensor>> out(n);
  if (IsMissing(info[i])) return out;
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array");
  Napi::Array arr = info[i].As<Napi::Array>();
  if (arr.Length() != n) {
    throw Napi::Error::New(info.Env(), std::string(what) + " has " + std::to_string(arr.Length()) +
                                           " entries for " + std::to_string(n) + " parameters");
  }
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = arr.Get(k);
    if (!IsMissing(v)) out[k] = ToTensor(v, what);
  }
  return out;
}

std::vector<bool> ArgBoolList(const Napi::CallbackInfo& info, size_t i, size_t n, const char* what) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be an array");
  Napi::Array arr = info[i].As<Napi::Array>();
  if (arr.Length() != n) throw Napi::Error::New(info.Env(), std::string(what) + " length mismatch");
  std::vector<bool> out(n);
  for (uint32_t k = 0; k < n; ++k) out[k] = arr.Get(k).ToBoolean().Value();
  return out;
}

Napi::Array BoolArray(Napi::Env env, const std::vector<bool>& v) {
  Napi::Array out = Napi::Array::New(env, v.size());
  for (size_t k = 0; k < v.size(); ++k) out.Set(static_cast<uint32_t>(k), Napi::Boolean::New(env, v[k]));
  return out;
}

// gradMask(params) -> boolean[]: which parameters hold a gradient (so optimiser state can be made lazily,
// only for them, as PyTorch does).
Napi::Value GradMask(const Napi::CallbackInfo& info) {
  const std::vector<at::Tensor> params = ArgTensorList(info, 0);
  std::vector<bool> has(params.size());
  for (size_t k = 0; k < params.size(); ++k) has[k] = params[k].grad().defined();
  return BoolArray(info.Env(), has);
}

// ---- SGD ---------------------------------------------------------------------------------------------------

// sgdStep(params, bufs|null, bufReady[], lr, momentum, dampening, weightDecay, nesterov, maximize)
//   -> boolean[] (parameters updated, i.e. those with a gradient).
// bufs[i] is the momentum buffer (needed when momentum != 0 and params[i] has a grad); bufReady[i] false
// means "PyTorch's buffer is still None": it is set to d_p instead of being decayed.
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  const std::vector<at::Tensor> params = ArgTensorList(info, 0);
  const size_t n = params.size();
  const auto bufs = ArgOptTensorList(info, 1, n, "sgd momentum buffers");
  const double momentum = ArgDouble(info, 4);
  const std::vector<bool> ready =
      momentum != 0 ? ArgBoolList(info, 2, n, "sgd bufReady") : std::vector<bool>(n, false);
  const double lr = ArgDouble(info, 3);
  const double dampening = ArgDouble(info, 5);
  const double weight_decay = ArgDouble(info, 6);
  const bool nesterov = ArgBool(info, 7);
  const bool maximize = ArgBool(info, 8);

  at::NoGradGuard no_grad;
  std::vector<bool> updated(n, false);
  for (size_t i = 0; i < n; ++i) {
    at::Tensor param = params[i];
    const at::Tensor& grad = param.grad();
    if (!grad.defined()) continue;
    at::Tensor d_p = maximize ? grad.neg() : grad;
    if (weight_decay != 0) d_p = d_p.add(param, weight_decay);
    if (momentum != 0) {
      if (!bufs[i]) throw std::runtime_error("sgd: parameter " + std::to_string(i) + " has no momentum buffer");
      at::Tensor buf = *bufs[i];
      if (!ready[i]) {
        buf.copy_(d_p);
      } else {
        buf.mul_(momentum).add_(d_p, 1 - dampening);
      }
      d_p = nesterov ? d_p.add(buf, momentum) : buf;
    }
    param.add_(d_p, -lr);
    updated[i] = true;
  }
  return BoolArray(info.Env(), updated);
}

// ---- AdamW -------------------------------------------------------------------------------------------------

struct AdamwScalars {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
};

// One pass over memory, element for element the same float operations as PyTorch's
//   p *= 1 - lr*wd;  m = m*b1 + (1-b1)*g;  v = v*b2 + (1-b2)*g*g;  (amsgrad: v' = max(vmax, v))
//   denom = sqrt(v')/sqrt(bc2) + eps;  p += (-lr/bc1 * m) / denom   (addcdiv multiplies first)
// c = {1 - lr*wd, b1, 1-b1, b2, 1-b2, sqrt(bc2), -lr/bc1, eps}, cast to T as ATen casts its scalars.
template <typename T>
void AdamwRange(T* p, const T* g, T* m, T* v, T* vmax, int64_t begin, int64_t end, const T (&c)[8]) {
  for (int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T pi = p[i] * c[0];
    const T mi = m[i] * c[1] + c[2] * gi;
    T vi = v[i] * c[3] + c[4] * gi * gi;
    m[i] = mi;
    v[i] = vi;
    if (vmax != nullptr) {
      vi = vmax[i] > vi ? vmax[i] : vi;
      vmax[i] = vi;
    }
    p[i] = pi + c[6] * mi / (std::sqrt(vi) / c[5] + c[7]);
  }
}

#if defined(__x86_64__)
// The float loop above in AVX2 (no FMA, so the rounding follows the separate multiplies and adds). The
// compiler will not vectorise the scalar loop itself: std::sqrt may set errno unless -fno-math-errno.
__attribute__((target("avx2"))) void AdamwRangeAvx2(float* p, const float* g, float* m, float* v, float* vmax,
                                                    int64_t begin, int64_t end, const float (&c)[8]) {
  const __m256 decay = _mm256_set1_ps(c[0]), b1 = _mm256_set1_ps(c[1]), omb1 = _mm256_set1_ps(c[2]),
               b2 = _mm256_set1_ps(c[3]), omb2 = _mm256_set1_ps(c[4]), bc2 = _mm256_set1_ps(c[5]),
               nss = _mm256_set1_ps(c[6]), eps = _mm256_set1_ps(c[7]);
  int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(omb1, gi));
    __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
    if (vmax != nullptr) {
      vi = _mm256_max_ps(_mm256_loadu_ps(vmax + i), vi);
      _mm256_storeu_ps(vmax + i, vi);
    }
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
    _mm256_storeu_ps(p + i, _mm256_add_ps(pi, _mm256_div_ps(_mm256_mul_ps(nss, mi), denom)));
  }
  AdamwRange<float>(p, g, m, v, vmax, i, end, c);
}
const bool g_has_avx2 = __builtin_cpu_supports("avx2");
#endif

template <typename T>
void AdamwConstants(const AdamwScalars& s, double step, T (&c)[8]) {
  c[0] = static_cast<T>(1 - s.lr * s.weight_decay);
  c[1] = static_cast<T>(s.beta1);
  c[2] = static_cast<T>(1 - s.beta1);
  c[3] = static_cast<T>(s.beta2);
  c[4] = static_cast<T>(1 - s.beta2);
  c[5] = static_cast<T>(std::sqrt(1 - std::pow(s.beta2, step)));
  c[6] = static_cast<T>(-(s.lr / (1 - std::pow(s.beta1, step))));
  c[7] = static_cast<T>(s.eps);
}

template <typename T>
void AdamwRangeBest(T* p, const T* g, T* m, T* v, T* vmax, int64_t begin, int64_t end, const T (&c)[8]) {
#if defined(__x86_64__)
  if constexpr (std::is_same_v<T, float>) {
    if (g_has_avx2) return AdamwRangeAvx2(p, g, m, v, vmax, begin, end, c);
  }
#endif
  AdamwRange<T>(p, g, m, v, vmax, begin, end, c);
}

// One contiguous parameter's slice of a fused update.
template <typename T>
struct Segment {
  T* p;
  const T* g;
  T* m;
  T* v;
  T* vmax;
  int64_t n;
  T c[8];
};

// Every segment in ONE parallel region (one fork/join per step instead of one per parameter: each join is
// a barrier, and barriers are what an oversubscribed machine makes expensive).
template <typename T>
void FusedAdamw(const std::vector<Segment<T>>& segs) {
  if (segs.empty()) return;
  std::vector<int64_t> start(segs.size() + 1, 0);  // start[k]: first global element of segment k
  for (size_t k = 0; k < segs.size(); ++k) start[k + 1] = start[k] + segs[k].n;
  at::parallel_for(0, start.back(), 1 << 15, [&](int64_t begin, int64_t end) {
    size_t k = std::upper_bound(start.begin(), start.end(), begin) - start.begin() - 1;
    for (; k < segs.size() && start[k] < end; ++k) {
      const Segment<T>& sg = segs[k];
      const int64_t b = std::max(begin, start[k]) - start[k];
      const int64_t e = std::min(end, start[k + 1]) - start[k];
      AdamwRangeBest<T>(sg.p, sg.g, sg.m, sg.v, sg.vmax, b, e, sg.c);
    }
  });
}

template <typename T>
Segment<T> MakeSegment(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v,
                       const c10::optional<at::Tensor>& vmax, const AdamwScalars& s, double step) {
  Segment<T> sg{p.data_ptr<T>(), g.data_ptr<T>(), m.data_ptr<T>(), v.data_ptr<T>(),
                vmax ? vmax->data_ptr<T>() : nullptr, p.numel(), {}};
  AdamwConstants<T>(s, step, sg.c);
  return sg;
}

bool CanFuse(bool maximize, const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v,
             const c10::optional<at::Tensor>& vmax) {
  const auto st = p.scalar_type();
  if (maximize || !p.device().is_cpu() || (st != at::kFloat && st != at::kDouble)) return false;
  auto ok = [&](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == st && t.is_contiguous() && t.numel() == p.numel() &&
           !t.is_sparse();
  };
  return ok(p) && ok(g) && ok(m) && ok(v) && (!vmax || ok(*vmax));
}

// The same math through ATen ops (GPU, half precision, strided tensors).
void AtenAdamw(at::Tensor param, at::Tensor grad, at::Tensor exp_avg, at::Tensor exp_avg_sq,
               const c10::optional<at::Tensor>& vmax, const AdamwScalars& s, double step) {
  if (s.maximize) grad = grad.neg();
  param.mul_(1 - s.lr * s.weight_decay);
  exp_avg.mul_(s.beta1).add_(grad, 1 - s.beta1);
  exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, 1 - s.beta2);
  const double bias_correction1 = 1 - std::pow(s.beta1, step);
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(s.beta2, step));
  at::Tensor denom;
  if (vmax) {
    at::Tensor vm = *vmax;
    at::maximum_out(vm, vm, exp_avg_sq);
    denom = (vm.sqrt() / bias_correction2_sqrt).add_(s.eps);
  } else {
    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(s.eps);
  }
  param.addcdiv_(exp_avg, denom, -(s.lr / bias_correction1));
}

// The same math over a list of parameters at once (one step count, device and dtype): ATen's multi-tensor
// kernels launch a handful of GPU kernels per step instead of about nine per parameter, as torch.optim's
// default foreach AdamW does. On the CPU they loop per tensor and give the same values as AtenAdamw.
struct ForeachGroup {
  std::vector<at::Tensor> p, g, m, v;
};

void ForeachAdamw(ForeachGroup& grp, const AdamwScalars& s, double step) {
  std::vector<at::Tensor> grads = s.maximize ? at::_foreach_neg(grp.g) : grp.g;
  at::_foreach_mul_(grp.p, 1 - s.lr * s.weight_decay);
  at::_foreach_mul_(grp.m, s.beta1);
  at::_foreach_add_(grp.m, grads, 1 - s.beta1);
  at::_foreach_mul_(grp.v, s.beta2);
  at::_foreach_addcmul_(grp.v, grads, grads, 1 - s.beta2);
  const double bias_correction1 = 1 - std::pow(s.beta1, step);
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(s.beta2, step));
  std::vector<at::Tensor> denom = at::_foreach_sqrt(grp.v);
  at::_foreach_div_(denom, bias_correction2_sqrt);
  at::_foreach_add_(denom, s.eps);
  at::_foreach_addcdiv_(grp.p, grp.m, denom, -(s.lr / bias_correction1));
}

// adamwStep(params, expAvgs, expAvgSqs, maxExpAvgSqs|null, steps, lr, beta1, beta2, eps, weightDecay,
//           amsgrad, maximize) -> boolean[] (parameters updated, i.e. those with a gradient).
// steps[i] is the number of updates parameter i has had so far; this update is number steps[i] + 1 (the
// caller increments its counts for the updated parameters, as PyTorch's per-parameter state['step']).
Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  const std::vector<at::Tensor> params = ArgTensorList(info, 0);
  const size_t n = params.size();
  const auto exp_avgs = ArgOptTensorList(info, 1, n, "adamw exp_avg");
  const auto exp_avg_sqs = ArgOptTensorList(info, 2, n, "adamw exp_avg_sq");
  const auto max_sqs = ArgOptTensorList(info, 3, n, "adamw max_exp_avg_sq");
  const std::vector<double> steps = ArgDoubles(info, 4);
  if (steps.size() != n) throw std::runtime_error("adamw: steps has " + std::to_string(steps.size()) +
                                                  " entries for " + std::to_string(n) + " parameters");
  AdamwScalars s{ArgDouble(info, 5), ArgDouble(info, 6), ArgDouble(info, 7), ArgDouble(info, 8),
                 ArgDouble(info, 9),  ArgBool(info, 10),  ArgBool(info, 11)};

  at::NoGradGuard no_grad;
  std::vector<bool> updated(n, false);
  std::vector<Segment<float>> f32;  // fused later, all in one parallel region
  std::vector<Segment<double>> f64;
  std::map<std::tuple<double, std::string, int>, ForeachGroup> groups;  // (step, device, dtype)
  for (size_t i = 0; i < n; ++i) {
    at::Tensor param = params[i];
    const at::Tensor& grad = param.grad();
    if (!grad.defined()) continue;
    if (!exp_avgs[i] || !exp_avg_sqs[i] || (s.amsgrad && !max_sqs[i])) {
      throw std::runtime_error("adamw: parameter " + std::to_string(i) + " has a gradient but no optimiser state");
    }
    if (grad.is_sparse()) throw std::runtime_error("adamw: sparse gradients are not supported");
    const double step = steps[i] + 1;
    const c10::optional<at::Tensor> vmax = s.amsgrad ? max_sqs[i] : c10::nullopt;
    if (CanFuse(s.maximize, param, grad, *exp_avgs[i], *exp_avg_sqs[i], vmax)) {
      if (param.scalar_type() == at::kFloat) {
        f32.push_back(MakeSegment<float>(param, grad, *exp_avgs[i], *exp_avg_sqs[i], vmax, s, step));
      } else {
        f64.push_back(MakeSegment<double>(param, grad, *exp_avgs[i], *exp_avg_sqs[i], vmax, s, step));
      }
    } else if (vmax) {
      AtenAdamw(param, grad, *exp_avgs[i], *exp_avg_sqs[i], vmax, s, step);
    } else {
      ForeachGroup& grp = groups[{step, param.device().str(), static_cast<int>(param.scalar_type())}];
      grp.p.push_back(param);
      grp.g.push_back(grad);
      grp.m.push_back(*exp_avgs[i]);
      grp.v.push_back(*exp_avg_sqs[i]);
    }
    updated[i] = true;
  }
  for (auto& [key, grp] : groups) ForeachAdamw(grp, s, std::get<0>(key));
  // `params` (and the grads they own) keep every segment's memory alive until here.
  FusedAdamw(f32);
  FusedAdamw(f64);
  return BoolArray(info.Env(), updated);
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) {
  Export<GradMask>(env, exports, "optimGradMask");
  Export<SgdStep>(env, exports, "optimSgdStep");
  Export<AdamwStep>(env, exports, "optimAdamwStep");
}

}  // namespace wish
