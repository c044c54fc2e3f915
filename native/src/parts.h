// Each translation unit of the addon registers its entry points through one Init<Part> function.
// To add a part: write native/src/<part>.cpp (include "tensor_wrap.h", register with Export<Fn>),
// declare its Init function here and call it from addon.cpp.
#pragma once

#include <napi.h>

namespace wish {

void InitTensor(Napi::Env env, Napi::Object exports);     // tensor_wrap.cpp: lifetime, scopes, metadata
void InitAllocator(Napi::Env env, Napi::Object exports);  // allocator.cpp: caching CPU allocator
void InitRuntime(Napi::Env env, Napi::Object exports);    // runtime.cpp: threads, seeds, generators, cuda
void InitIo(Napi::Env env, Napi::Object exports);         // io.cpp: typed arrays and raw buffers
void InitCreation(Napi::Env env, Napi::Object exports);   // creation.cpp: zeros, arange, rand, ...
void InitPointwise(Napi::Env env, Napi::Object exports);  // pointwise.cpp: element-wise math
void InitReduce(Napi::Env env, Napi::Object exports);     // reduce.cpp: sum, max, topk, sort, ...
void InitShape(Napi::Env env, Napi::Object exports);      // shape.cpp: views, indexing, cat, ...
void InitLinalg(Napi::Env env, Napi::Object exports);     // linalg.cpp: matmul, einsum, ...
void InitNn(Napi::Env env, Napi::Object exports);         // nn.cpp: conv, pooling, norms, activations
void InitSample(Napi::Env env, Napi::Object exports);     // sample.cpp: interpolate, grid_sample, pad
void InitAttention(Napi::Env env, Napi::Object exports);  // attention.cpp: scaled dot-product attention
void InitLoss(Napi::Env env, Napi::Object exports);       // loss.cpp: cross-entropy, BCE, KL, ...
void InitAutograd(Napi::Env env, Napi::Object exports);   // autograd.cpp: backward, grad, no-grad
void InitOptim(Napi::Env env, Napi::Object exports);      // optim.cpp: SGD / AdamW steps over a parameter group

}  // namespace wish
