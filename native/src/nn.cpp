// Neural-network functions: convolution, pooling, normalisation, softmax, dropout, embedding.
#include <ATen/ATen.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// conv2d / conv1d (x, w, b?, stride[], padding[] | 'same' | 'valid', dilation[], groups)
template <int D>
Napi::Value ConvNd(const Napi::CallbackInfo& info) {
  const at::Tensor& x = ArgTensor(info, 0);
  const at::Tensor& w = ArgTensor(info, 1);
  auto b = ArgOptTensor(info, 2);
  const auto stride = ArgInts(info, 3);
  const auto dilation = ArgInts(info, 5);
  const int64_t groups = ArgInt(info, 6);
  if (info[4].IsString()) {
    const std::string pad = ArgString(info, 4);
    if (D == 2) return Wrap(info.Env(), at::conv2d(x, w, b, stride, pad, dilation, groups));
    return Wrap(info.Env(), at::conv1d(x, w, b, stride, pad, dilation, groups));
  }
  const auto padding = ArgInts(info, 4);
  if (D == 2) return Wrap(info.Env(), at::conv2d(x, w, b, stride, padding, dilation, groups));
  return Wrap(info.Env(), at::conv1d(x, w, b, stride, padding, dilation, groups));
}

// convTranspose2d(x, w, b?, stride, padding, outputPadding, groups, dilation)
Napi::Value ConvTranspose2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::conv_transpose2d(ArgTensor(info, 0), ArgTensor(info, 1), ArgOptTensor(info, 2), ArgInts(info, 3),
                                               ArgInts(info, 4), ArgInts(info, 5), ArgInt(info, 6), ArgInts(info, 7)));
}

// maxPool2d(x, kernel, stride, padding, dilation, ceilMode, withIndices) -> out | [out, indices]
Napi::Value MaxPool2d(const Napi::CallbackInfo& info) {
  const at::Tensor& x = ArgTensor(info, 0);
  if (ArgBool(info, 6)) {
    auto r = at::max_pool2d_with_indices(x, ArgInts(info, 1), ArgInts(info, 2), ArgInts(info, 3), ArgInts(info, 4), ArgBool(info, 5));
    return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
  }
  return Wrap(info.Env(), at::max_pool2d(x, ArgInts(info, 1), ArgInts(info, 2), ArgInts(info, 3), ArgInts(info, 4), ArgBool(info, 5)));
}

// avgPool2d(x, kernel, stride, padding, ceilMode, countIncludePad, divisorOverride?)
Napi::Value AvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::avg_pool2d(ArgTensor(info, 0), ArgInts(info, 1), ArgInts(info, 2), ArgInts(info, 3), ArgBool(info, 4),
                                         ArgBool(info, 5), ArgOptInt(info, 6)));
}

Napi::Value AdaptiveAvgPool2d(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::adaptive_avg_pool2d(ArgTensor(info, 0), ArgInts(info, 1)));
}

Napi::Value AdaptiveMaxPool2d(const Napi::CallbackInfo& info) {
  auto r = at::adaptive_max_pool2d(ArgTensor(info, 0), ArgInts(info, 1));
  return WrapList(info.Env(), {std::get<0>(r), std::get<1>(r)});
}

// layerNorm(x, normalizedShape, w?, b?, eps)
Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::layer_norm(ArgTensor(info, 0), ArgInts(info, 1), ArgOptTensor(info, 2), ArgOptTensor(info, 3),
                                         ArgDouble(info, 4), /*cudnn_enable=*/true));
}

// groupNorm(x, groups, w?, b?, eps)
Napi::Value GroupNorm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::group_norm(ArgTensor(info, 0), ArgInt(info, 1), ArgOptTensor(info, 2), ArgOptTensor(info, 3),
                                         ArgDouble(info, 4), /*cudnn_enabled=*/true));
}

// batchNorm(x, runningMean?, runningVar?, w?, b?, training, momentum, eps): updates running stats in place
// when training.
Napi::Value BatchNorm(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::batch_norm(ArgTensor(info, 0), ArgOptTensor(info, 3), ArgOptTensor(info, 4), ArgOptTensor(info, 1),
                                         ArgOptTensor(info, 2), ArgBool(info, 5), ArgDouble(info, 6), ArgDouble(info, 7),
                                         /*cudnn_enabled=*/true));
}

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::softmax(ArgTensor(info, 0), ArgInt(info, 1), ArgOptDtype(info, 2)));
}
Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::log_softmax(ArgTensor(info, 0), ArgInt(info, 1), ArgOptDtype(info, 2)));
}

// dropout(x, p, training)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  const double p = ArgDouble(info, 1);
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", p);
  return Wrap(info.Env(), at::dropout(ArgTensor(info, 0), p, ArgBool(info, 2)));
}

// embedding(weight, indices, paddingIdx)
Napi::Value Embedding(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::embedding(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2), false, false));
}

Napi::Value OneHot(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::one_hot(ArgTensor(info, 0), ArgInt(info, 1)));
}

}  // namespace

void InitNn(Napi::Env env, Napi::Object exports) {
  Export<ConvNd<2>>(env, exports, "conv2d");
  Export<ConvNd<1>>(env, exports, "conv1d");
  Export<ConvTranspose2d>(env, exports, "convTranspose2d");
  Export<MaxPool2d>(env, exports, "maxPool2d");
  Export<AvgPool2d>(env, exports, "avgPool2d");
  Export<AdaptiveAvgPool2d>(env, exports, "adaptiveAvgPool2d");
  Export<AdaptiveMaxPool2d>(env, exports, "adaptiveMaxPool2d");
  Export<LayerNorm>(env, exports, "layerNorm");
  Export<GroupNorm>(env, exports, "groupNorm");
  Export<BatchNorm>(env, exports, "batchNorm");
  Export<Softmax>(env, exports, "softmax");
  Export<LogSoftmax>(env, exports, "logSoftmax");
  Export<Dropout>(env, exports, "dropout");
  Export<Embedding>(env, exports, "embedding");
  Export<OneHot>(env, exports, "oneHot");
}

}  // namespace wish
