// Module entry: every part registers its functions on the exports object (see parts.h).
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
