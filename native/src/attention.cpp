// Scaled dot-product attention: libtorch's fused op where it has one (2.x), the composed formula
// otherwise (1.13 has only a private, identical math kernel).
#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// softmax(q k^T * scale + mask) v over the last two dims; q [.., L, E], k [.., S, E], v [.., S, Ev].
// mask: bool (true = attend) or additive float, broadcast to [.., L, S].
// When q, k, v share their batch dims (the usual case) this runs as batched GEMMs (k transposed by
// strides, not copied) with the masks applied in place to the fresh score tensor, which no
// backward needs; otherwise it falls back to broadcasting matmul.
at::Tensor ComposedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const c10::optional<at::Tensor>& mask,
                             double dropout_p, bool causal, c10::optional<double> scale) {
  const double s = scale.value_or(1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  const double neg_inf = -std::numeric_limits<double>::infinity();
  const int64_t L = q.size(-2), S = k.size(-2), E = q.size(-1), Ev = v.size(-1);
  const auto batch = q.sizes().slice(0, q.dim() - 2);
  const bool same_batch = q.dim() == k.dim() && q.dim() == v.dim() && batch == k.sizes().slice(0, k.dim() - 2) &&
                          batch == v.sizes().slice(0, v.dim() - 2);
  if (!same_batch) {
    at::Tensor attn = at::matmul(q.mul(s), k.transpose(-2, -1));
    if (causal) attn = attn.masked_fill(at::ones({L, S}, q.options().dtype(at::kBool)).tril().logical_not(), neg_inf);
    if (mask) attn = mask->scalar_type() == at::kBool ? attn.masked_fill(mask->logical_not(), neg_inf) : attn + *mask;
    attn = at::softmax(attn, -1);
    if (dropout_p > 0) attn = at::dropout(attn, dropout_p, true);
    return at::matmul(attn, v);
  }
  std::vector<int64_t> score_shape(batch.begin(), batch.end());
  score_shape.push_back(L);
  score_shape.push_back(S);
  const at::Tensor q3 = q.reshape({-1, L, E});
  const at::Tensor k3 = k.reshape({-1, S, E});
  const at::Tensor v3 = v.reshape({-1, S, Ev});
  // Scale the smaller of q and the scores (baddbmm's fused alpha is ~100x slower than bmm on 1.13 CPU).
  at::Tensor attn = E <= S ? at::bmm(q3.mul(s), k3.transpose(1, 2)) : at::bmm(q3, k3.transpose(1, 2)).mul_(s);  // [b, L, S]
  if (causal) attn.masked_fill_(at::ones({L, S}, q.options().dtype(at::kBool)).triu(1), neg_inf);
  if (mask) {
    const at::Tensor m = mask->expand(score_shape).reshape({-1, L, S});
    if (m.scalar_type() == at::kBool) attn.masked_fill_(m.logical_not(), neg_inf);
    else attn.add_(m);
  }
  attn = at::softmax(attn, -1);
  if (dropout_p > 0) attn = at::dropout(attn, dropout_p, true);
  std::vector<int64_t> out_shape(batch.begin(), batch.end());
  out_shape.push_back(L);
  out_shape.push_back(Ev);
  return at::bmm(attn, v3).view(out_shape);
}

// sdpa(q, k, v, mask?, dropoutP, isCausal, scale?)
Napi::Value Sdpa(const Napi::CallbackInfo& info) {
  const at::Tensor& q = ArgTensor(info, 0);
  const at::Tensor& k = ArgTensor(info, 1);
  const at::Tensor& v = ArgTensor(info, 2);
  auto mask = ArgOptTensor(info, 3);
  const double p = ArgDouble(info, 4);
  const bool causal = ArgBool(info, 5);
  auto scale = ArgOptDouble(info, 6);
  TORCH_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, "scaledDotProductAttention: q, k, v need at least 2 dims");
  TORCH_CHECK(q.size(-1) == k.size(-1), "scaledDotProductAttention: q and k embed dims differ (", q.size(-1), " vs ", k.size(-1), ")");
  TORCH_CHECK(k.size(-2) == v.size(-2), "scaledDotProductAttention: k and v lengths differ (", k.size(-2), " vs ", v.size(-2), ")");
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  return Wrap(info.Env(), at::scaled_dot_product_attention(q, k, v, mask, p, causal, scale));
#else
  return Wrap(info.Env(), ComposedAttention(q, k, v, mask, p, causal, scale));
#endif
}

// sdpaComposed(...): always the composed formula (tests compare the fused op against it).
Napi::Value SdpaComposed(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ComposedAttention(ArgTensor(info, 0), ArgTensor(info, 1), ArgTensor(info, 2), ArgOptTensor(info, 3),
                                            ArgDouble(info, 4), ArgBool(info, 5), ArgOptDouble(info, 6)));
}

}  // namespace

void InitAttention(Napi::Env env, Napi::Object exports) {
  Export<Sdpa>(env, exports, "sdpa");
  Export<SdpaComposed>(env, exports, "sdpaComposed");
}

}  // namespace wish
