// Process-wide settings: intra-op threads, seeding, generators, CUDA availability.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#include <mutex>

#include "generator.h"
#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  const int64_t n = ArgInt(info, 0);
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread");
  at::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

void SeedGenerator(at::Generator g, uint64_t seed) {  // a handle: the copy shares the generator
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_current_seed(seed);
}

// manualSeed(seed): seeds the default CPU generator and every CUDA device's, like torch.manual_seed.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  const auto seed = static_cast<uint64_t>(ArgInt(info, 0));
  SeedGenerator(at::detail::getDefaultCPUGenerator(), seed);
  if (at::hasCUDA()) {
    for (size_t i = 0; i < at::getNumGPUs(); ++i) {
      SeedGenerator(at::globalContext().defaultGenerator(at::Device(at::kCUDA, static_cast<int8_t>(i))), seed);
    }
  }
  return info.Env().Undefined();
}

// newGenerator(seed, device) -> opaque handle, released by the GC.
Napi::Value NewGenerator(const Napi::CallbackInfo& info) {
  const auto seed = static_cast<uint64_t>(ArgInt(info, 0));
  const at::Device dev = ArgDevice(info, 1);
  at::Generator g;
  if (dev.is_cpu()) {
    g = at::detail::createCPUGenerator(seed);
  } else {
    // Clone the device's default generator so it has the right type, then seed it.
    at::Generator def = at::globalContext().defaultGenerator(dev);
    std::lock_guard<std::mutex> lock(def.mutex());
    g = def.clone();
    g.set_current_seed(seed);
  }
  return Napi::External<at::Generator>::New(info.Env(), new at::Generator(std::move(g)),
                                            [](Napi::Env, at::Generator* p) { delete p; });
}

Napi::Value CudaIsAvailable(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), at::hasCUDA()); }

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::hasCUDA() ? static_cast<double>(at::getNumGPUs()) : 0.0);
}

// cudaSynchronize(index): waits for every queued kernel on that device (for timing); a no-op without CUDA.
// Through the CUDA hooks, so the CPU-only build needs no CUDA headers.
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  if (at::hasCUDA()) at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(ArgInt(info, 0)));
  return info.Env().Undefined();
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("torch", TORCH_VERSION);
  o.Set("cxx11Abi", _GLIBCXX_USE_CXX11_ABI == 1);
  o.Set("parallel", at::get_parallel_info());
  return o;
}

}  // namespace

c10::optional<at::Generator> ArgOptGenerator(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return c10::nullopt;
  if (!info[i].IsExternal()) throw Napi::TypeError::New(info.Env(), "generator must be a Generator");
  return *info[i].As<Napi::External<at::Generator>>().Data();
}

void InitRuntime(Napi::Env env, Napi::Object exports) {
  Export<SetNumThreads>(env, exports, "setNumThreads");
  Export<GetNumThreads>(env, exports, "getNumThreads");
  Export<ManualSeed>(env, exports, "manualSeed");
  Export<NewGenerator>(env, exports, "newGenerator");
  Export<CudaIsAvailable>(env, exports, "cudaIsAvailable");
  Export<CudaDeviceCount>(env, exports, "cudaDeviceCount");
  Export<CudaSynchronize>(env, exports, "cudaSynchronize");
  Export<Version>(env, exports, "version");
}

}  // namespace wish
