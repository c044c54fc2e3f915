// Module entry: every part registers its functions on the exports object (see parts.h).
// Declared as an "experimental" Node-API module (NAPI_VERSION_EXPERIMENTAL): Node then runs finalizers
// synchronously during GC instead of on a later turn of the event loop, so tensors that became garbage
// in a long synchronous loop are freed without waiting for it. This requires finalizers that make no
// napi calls (tensor_wrap.cpp's only touch C++ state). Other parts are compiled against Node-API 8.
#define NAPI_VERSION 2147483647
#include <napi.h>

#include "parts.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  wish::InitAllocator(env, exports);
  wish::InitTensor(env, exports);
  wish::InitRuntime(env, exports);
  wish::InitIo(env, exports);
  wish::InitCreation(env, exports);
  wish::InitPointwise(env, exports);
  wish::InitReduce(env, exports);
  wish::InitShape(env, exports);
  wish::InitLinalg(env, exports);
  wish::InitNn(env, exports);
  wish::InitSample(env, exports);
  wish::InitAttention(env, exports);
  wish::InitLoss(env, exports);
  wish::InitAutograd(env, exports);
  wish::InitOptim(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(wish_native, Init)
