// A caching CPU allocator. glibc's malloc fragments badly under libtorch's mix of large aligned tensor
// buffers and small bookkeeping allocations (measured: ~9 MB lost per ResNet step), so freed tensor
// buffers are kept in per-size-class free lists and reused; a training step then allocates the same
// sizes every time and resident memory stays flat.
//
// oneDNN requirements: DataPtr context == data pointer and a raw deleter (raw_allocate/raw_deallocate).
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

constexpr size_t kAlign = 64;   // libtorch's CPU alignment (AVX-512 friendly)
constexpr size_t kHeader = 64;  // block header holding the size class, keeps user pointers aligned
constexpr int kSubBuckets = 8;  // size classes per power of two: at most 12.5% rounding waste
constexpr int kClasses = 64 * kSubBuckets;

struct Header {
  size_t bytes;  // usable bytes of the block (its size class)
  int cls;
};

// Size class of a request: multiples of 64 below 512 bytes, then 8 classes per octave.
int ClassOf(size_t n, size_t* rounded) {
  if (n <= 512) {
    const size_t r = n == 0 ? kAlign : (n + kAlign - 1) / kAlign * kAlign;
    *rounded = r;
    return static_cast<int>(r / kAlign) - 1;  // 0..7
  }
  const int octave = 63 - __builtin_clzll(static_cast<unsigned long long>(n - 1));  // 2^octave < n
  const size_t base = size_t{1} << octave;
  const size_t step = base / kSubBuckets;
  const size_t sub = (n - base + step - 1) / step;  // 1..kSubBuckets
  *rounded = base + sub * step;
  return octave * kSubBuckets + static_cast<int>(sub) - 1;
}

struct Cache {
  std::mutex mu;
  std::array<std::vector<void*>, kClasses> free_lists;
  size_t cached = 0;     // bytes sitting in free lists
  size_t in_use = 0;     // bytes handed out
  size_t peak = 0;
  size_t limit = size_t{4} << 30;  // cached bytes above this go back to the system
  uint64_t hits = 0, misses = 0;
};

Cache& TheCache() {
  static Cache* c = new Cache();  // never destroyed: tensors may be freed during process teardown
  return *c;
}

void* BlockOf(void* user) { return static_cast<char*>(user) - kHeader; }

void Release(void* user) {
  if (user == nullptr) return;
  Cache& c = TheCache();
  auto* h = static_cast<Header*>(BlockOf(user));
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use -= h->bytes;
    if (c.cached + h->bytes <= c.limit) {
      c.free_lists[h->cls].push_back(user);
      c.cached += h->bytes;
      return;
    }
  }
  std::free(h);
}

void* Acquire(size_t n) {
  size_t rounded = 0;
  const int cls = ClassOf(n, &rounded);
  Cache& c = TheCache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto& list = c.free_lists[cls];
    c.in_use += rounded;
    if (c.in_use > c.peak) c.peak = c.in_use;
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      c.cached -= rounded;
      ++c.hits;
      return p;
    }
    ++c.misses;
  }
  void* block = std::aligned_alloc(kAlign, kHeader + rounded);
  if (block == nullptr) {
    {
      std::lock_guard<std::mutex> lock(c.mu);
      c.in_use -= rounded;
    }
    TORCH_CHECK(false, "wish caching allocator: out of memory allocating ", rounded, " bytes");
  }
  auto* h = static_cast<Header*>(block);
  h->bytes = rounded;
  h->cls = cls;
  return static_cast<char*>(block) + kHeader;
}

void FreeAll() {
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& list : c.free_lists) {
    for (void* p : list) std::free(BlockOf(p));
    list.clear();
  }
  c.cached = 0;
}

struct CachingCpuAllocator final : public c10::Allocator {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override {
#else
  c10::DataPtr allocate(size_t n) const override {
#endif
    void* p = Acquire(n);
    return {p, p, &Release, c10::Device(c10::DeviceType::CPU)};
  }
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

CachingCpuAllocator g_allocator;
bool g_installed = false;

Napi::Value MemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Cache& c = TheCache();
  std::lock_guard<std::mutex> lock(c.mu);
  Napi::Object o = Napi::Object::New(env);
  o.Set("enabled", g_installed);
  o.Set("inUseBytes", static_cast<double>(c.in_use));
  o.Set("cachedBytes", static_cast<double>(c.cached));
  o.Set("peakBytes", static_cast<double>(c.peak));
  o.Set("cacheLimitBytes", static_cast<double>(c.limit));
  o.Set("hits", static_cast<double>(c.hits));
  o.Set("misses", static_cast<double>(c.misses));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  FreeAll();
  return info.Env().Undefined();
}

Napi::Value SetCacheLimit(const Napi::CallbackInfo& info) {
  const double bytes = ArgDouble(info, 0);
  if (!(bytes >= 0)) throw Napi::RangeError::New(info.Env(), "cache limit must be >= 0 bytes");
  {
    Cache& c = TheCache();
    std::lock_guard<std::mutex> lock(c.mu);
    c.limit = static_cast<size_t>(bytes);
  }
  if (TheCache().cached > TheCache().limit) FreeAll();
  return info.Env().Undefined();
}

}  // namespace

void InitAllocator(Napi::Env env, Napi::Object exports) {
  // WISH_CACHING_ALLOCATOR=0 keeps libtorch's default allocator (for comparisons).
  const char* flag = std::getenv("WISH_CACHING_ALLOCATOR");
  if (!g_installed && !(flag != nullptr && flag[0] == '0')) {
    c10::SetCPUAllocator(&g_allocator, /*priority=*/10);
    g_installed = true;
  }
  Export<MemoryStats>(env, exports, "memoryStats");
  Export<EmptyCache>(env, exports, "emptyCache");
  Export<SetCacheLimit>(env, exports, "setCacheLimit");
}

}  // namespace wish
