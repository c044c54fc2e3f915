// Losses, reduction codes as at::Reduction (0 none, 1 mean, 2 sum).
#include <ATen/ATen.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// crossEntropy(logits [N,C,...], target [N,...] int64 or probabilities [N,C,...], weight?, reduction,
//              ignoreIndex, labelSmoothing)
Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::cross_entropy_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), ArgInt(info, 3),
                                                 ArgInt(info, 4), ArgDouble(info, 5)));
}

// nllLoss(logProbs, target, weight?, reduction, ignoreIndex)
Napi::Value NllLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::nll_loss_nd(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), ArgInt(info, 3), ArgInt(info, 4)));
}

// bceWithLogits(logits, target, weight?, posWeight?, reduction)
Napi::Value BceWithLogits(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::binary_cross_entropy_with_logits(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2),
                                                               ArgOptTensor(info, 3), ArgInt(info, 4)));
}

// bce(probs, target, weight?, reduction)
Napi::Value Bce(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::binary_cross_entropy(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), ArgInt(info, 3)));
}

// klDiv(input log-probs, target, reduction, logTarget): pointwise target * (log target - input)
Napi::Value KlDiv(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::kl_div(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2), ArgBool(info, 3)));
}

Napi::Value MseLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::mse_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2)));
}
Napi::Value L1Loss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::l1_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2)));
}
Napi::Value SmoothL1Loss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::smooth_l1_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2), ArgDouble(info, 3)));
}
Napi::Value HuberLoss(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::huber_loss(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2), ArgDouble(info, 3)));
}

}  // namespace

void InitLoss(Napi::Env env, Napi::Object exports) {
  Export<CrossEntropy>(env, exports, "crossEntropy");
  Export<NllLoss>(env, exports, "nllLoss");
  Export<BceWithLogits>(env, exports, "bceWithLogits");
  Export<Bce>(env, exports, "bce");
  Export<KlDiv>(env, exports, "klDiv");
  Export<MseLoss>(env, exports, "mseLoss");
  Export<L1Loss>(env, exports, "l1Loss");
  Export<SmoothL1Loss>(env, exports, "smoothL1Loss");
  Export<HuberLoss>(env, exports, "huberLoss");
}

}  // namespace wish
