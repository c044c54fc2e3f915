// The JS tensor object, tidy scopes, and argument helpers (see tensor_wrap.h for the contract).
#include "tensor_wrap.h"

#include <ATen/ATen.h>

#include "parts.h"

namespace wish {
namespace {

struct TensorWrap;

// Tidy scopes: each open scope lists the wrappers created while it was innermost. Entries are raw
// pointers; a wrapper finalised by the GC clears its own entry, so no entry ever dangles.
struct Scope {
  std::vector<TensorWrap*> items;
};
std::vector<Scope> g_scopes;

// Tensors currently held by JS wrappers, for leak checks in tests.
int64_t g_live = 0;

// Native bytes held by JS tensors are reported to V8 in batches: one napi_adjust_external_memory per op
// costs more than a small op itself, and V8 only needs the running total to schedule GCs.
int64_t g_unreported = 0;
constexpr int64_t kReportBatch = 1 << 20;

// Tensors are finalised synchronously inside V8's GC (see addon.cpp), and any napi call may run a GC, so
// freeing never calls napi itself: it only counts bytes, and FlushReport() tells V8 later.
void FlushReport(napi_env env) {
  if (g_unreported >= kReportBatch || g_unreported <= -kReportBatch) {
    const int64_t delta = g_unreported;
    g_unreported = 0;
    int64_t total = 0;
    napi_adjust_external_memory(env, delta, &total);
  }
}

// The native half of a JS tensor. Raw napi_wrap (no ObjectWrap): wrapping is the per-op cost that
// matters most, and this path does the least work per object.
constexpr uint32_t kMagic = 0x57495348;  // "WISH": marks memory that really is a TensorWrap

struct TensorWrap {
  uint32_t magic = kMagic;
  at::Tensor tensor;
  int64_t reported = 0;  // bytes reported to V8 for this wrapper
  int32_t scope = -1;    // index into g_scopes, -1 when not tracked
  uint32_t slot = 0;

  void Track(int32_t s) {
    scope = s;
    slot = static_cast<uint32_t>(g_scopes[s].items.size());
    g_scopes[s].items.push_back(this);
  }

  void Untrack() {
    if (scope >= 0 && scope < static_cast<int32_t>(g_scopes.size()) && slot < g_scopes[scope].items.size() &&
        g_scopes[scope].items[slot] == this) {
      g_scopes[scope].items[slot] = nullptr;
    }
    scope = -1;
  }

  // Drops this wrapper's reference now; the memory goes back to the allocator unless another tensor
  // (a view, autograd's saved tensors, a parameter's .grad) still refers to it. No napi calls here.
  void Release() {
    if (!tensor.defined()) return;
    tensor.reset();
    --g_live;
    g_unreported -= reported;
    reported = 0;
  }
};

// GC finalizer of a JS tensor.
// It may run inside V8's GC, so it touches only C++ state: the byte count is settled by the next Wrap().
void FinalizeTensor(napi_env /*env*/, void* data, void* /*hint*/) {
  auto* w = static_cast<TensorWrap*>(data);
  w->Untrack();
  w->Release();
  delete w;
}

napi_ref g_ctor = nullptr;
bool g_constructing = false;

// The JS constructor does nothing: Wrap() attaches the native half right after `new`.
napi_value NativeCtor(napi_env env, napi_callback_info info) {
  napi_value self = nullptr;
  napi_get_cb_info(env, info, nullptr, nullptr, &self, nullptr);
  if (!g_constructing) {
    napi_throw_type_error(env, nullptr, "Tensors are created by engine functions (tensor(), zeros(), ...)");
    return nullptr;
  }
  return self;
}

TensorWrap* UnwrapOrNull(const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  void* p = nullptr;
  // Cheaper than instanceof; the magic number rejects objects wrapped by some other addon.
  if (napi_unwrap(v.Env(), v, &p) != napi_ok || p == nullptr) return nullptr;
  auto* w = static_cast<TensorWrap*>(p);
  return w->magic == kMagic ? w : nullptr;
}

TensorWrap* UnwrapChecked(const Napi::Value& v, const char* what) {
  TensorWrap* w = UnwrapOrNull(v);
  if (w == nullptr) throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Tensor");
  return w;
}

// ---- entry points: lifetime and metadata -----------------------------------------------------------------

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  TensorWrap* w = UnwrapChecked(info[0], "dispose()");
  w->Untrack();
  w->Release();
  FlushReport(info.Env());
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !UnwrapChecked(info[0], "isDisposed()")->tensor.defined());
}

// keep(t): t survives every enclosing tidy scope (freed only by dispose() or the GC).
Napi::Value Keep(const Napi::CallbackInfo& info) {
  TensorWrap* w = UnwrapChecked(info[0], "keep()");
  w->Untrack();
  return info[0];
}

Napi::Value ScopeBegin(const Napi::CallbackInfo& info) {
  g_scopes.emplace_back();
  return Napi::Number::New(info.Env(), static_cast<double>(g_scopes.size()));
}

// scopeEnd(depth, kept[]): frees what the innermost scope created except `kept`, which move to the
// enclosing scope (so a tidy nested in a tidy still frees them at the outer end).
Napi::Value ScopeEnd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto depth = static_cast<size_t>(ArgInt(info, 0));
  if (depth != g_scopes.size() || g_scopes.empty()) {
    throw Napi::Error::New(env, "tidy scopes ended out of order");
  }
  const int32_t inner = static_cast<int32_t>(g_scopes.size() - 1);
  std::vector<TensorWrap*> kept;
  if (info.Length() > 1 && info[1].IsArray()) {
    Napi::Array arr = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      TensorWrap* w = UnwrapOrNull(arr.Get(i));
      if (w != nullptr && w->scope == inner) {
        w->Untrack();
        kept.push_back(w);
      }
    }
  }
  std::vector<TensorWrap*> items = std::move(g_scopes.back().items);
  g_scopes.pop_back();
  // Plain C++ from here until every pointer in `items` is dealt with: a napi call could run a GC whose
  // finalizers delete wrappers still listed in `items`.
  for (TensorWrap* w : items) {
    if (w == nullptr) continue;
    w->scope = -1;
    w->Release();
  }
  if (!g_scopes.empty()) {
    for (TensorWrap* w : kept) w->Track(static_cast<int32_t>(g_scopes.size() - 1));
  }
  items.clear();
  FlushReport(env);
  return env.Undefined();
}

Napi::Value ScopeDepth(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_scopes.size()));
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_live));
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  Napi::Env env = info.Env();
  const auto sizes = t.sizes();
  Napi::Array out = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(sizes[i]));
  return out;
}

Napi::Value Size(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  return Napi::Number::New(info.Env(), static_cast<double>(t.size(ArgInt(info, 1))));
}

Napi::Value Stride(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  Napi::Env env = info.Env();
  const auto st = t.strides();
  Napi::Array out = Napi::Array::New(env, st.size());
  for (size_t i = 0; i < st.size(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(st[i]));
  return out;
}

Napi::Value Dim(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ArgTensor(info, 0).dim()));
}

Napi::Value Numel(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ArgTensor(info, 0).numel()));
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(DtypeToCode(ArgTensor(info, 0).scalar_type())));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), ArgTensor(info, 0).device().str());
}

Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).is_contiguous());
}

Napi::Value SameStorage(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ArgTensor(info, 0).is_alias_of(ArgTensor(info, 1)));
}

}  // namespace

// ---- helpers declared in tensor_wrap.h --------------------------------------------------------------------

bool IsTensor(const Napi::Value& v) { return UnwrapOrNull(v) != nullptr; }

at::Tensor& ToTensor(const Napi::Value& v, const char* what) {
  TensorWrap* w = UnwrapChecked(v, what);
  if (!w->tensor.defined()) throw Napi::Error::New(v.Env(), "Tensor was used after dispose()");
  return w->tensor;
}

c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return c10::nullopt;
  return ToTensor(info[i]);
}

std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of Tensors");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) out.push_back(ToTensor(arr.Get(k), "list element"));
  return out;
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  if (!t.defined()) throw Napi::Error::New(env, "internal: wrapping an undefined tensor");
  napi_value ctor = nullptr, obj = nullptr;
  napi_get_reference_value(env, g_ctor, &ctor);
  g_constructing = true;
  const napi_status st = napi_new_instance(env, ctor, 0, nullptr, &obj);
  g_constructing = false;
  if (st != napi_ok) throw Napi::Error::New(env, "internal: could not create a tensor object");
  auto* w = new TensorWrap();
  w->reported = static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
  w->tensor = std::move(t);
  if (napi_wrap(env, obj, w, FinalizeTensor, nullptr, nullptr) != napi_ok) {
    delete w;
    throw Napi::Error::New(env, "internal: could not wrap a tensor");
  }
  g_unreported += w->reported;
  ++g_live;
  if (!g_scopes.empty()) w->Track(static_cast<int32_t>(g_scopes.size() - 1));
  FlushReport(env);
  return Napi::Value(env, obj);
}

Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts) {
  Napi::Array out = Napi::Array::New(env, ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out.Set(static_cast<uint32_t>(i), Wrap(env, ts[i]));
  return out;
}

Napi::Value WrapOrNull(Napi::Env env, const at::Tensor& t) {
  if (!t.defined()) return env.Null();
  return Wrap(env, t);
}

int64_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected an integer argument");
  return info[i].As<Napi::Number>().Int64Value();
}

double ArgDouble(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().DoubleValue();
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }

std::string ArgString(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  return info[i].As<Napi::String>().Utf8Value();
}

std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i) {
  std::vector<int64_t> out;
  if (info[i].IsNumber()) {
    out.push_back(info[i].As<Napi::Number>().Int64Value());
    return out;
  }
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of integers");
  Napi::Array arr = info[i].As<Napi::Array>();
  const uint32_t n = arr.Length();
  out.reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    Napi::Value v = arr.Get(k);
    if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), "expected an array of integers");
    out.push_back(v.As<Napi::Number>().Int64Value());
  }
  return out;
}

std::vector<double> ArgDoubles(const Napi::CallbackInfo& info, size_t i) {
  std::vector<double> out;
  if (info[i].IsNumber()) {
    out.push_back(info[i].As<Napi::Number>().DoubleValue());
    return out;
  }
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of numbers");
  Napi::Array arr = info[i].As<Napi::Array>();
  for (uint32_t k = 0; k < arr.Length(); ++k) out.push_back(arr.Get(k).As<Napi::Number>().DoubleValue());
  return out;
}

c10::optional<int64_t> ArgOptInt(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return c10::nullopt;
  return ArgInt(info, i);
}

c10::optional<double> ArgOptDouble(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return c10::nullopt;
  return ArgDouble(info, i);
}

c10::Scalar ToScalar(const Napi::Value& v) {
  if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), "expected a number or a Tensor");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) {
    return c10::Scalar(static_cast<int64_t>(d));
  }
  return c10::Scalar(d);
}

c10::optional<c10::Scalar> ArgOptScalar(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return c10::nullopt;
  return ToScalar(info[i]);
}

at::ScalarType DtypeFromCode(int64_t code) {
  switch (code) {
    case 0: return at::kFloat;
    case 1: return at::kDouble;
    case 2: return at::kHalf;
    case 3: return at::kBFloat16;
    case 4: return at::kLong;
    case 5: return at::kInt;
    case 6: return at::kShort;
    case 7: return at::kChar;
    case 8: return at::kByte;
    case 9: return at::kBool;
    default: throw std::invalid_argument("unknown dtype code " + std::to_string(code));
  }
}

int64_t DtypeToCode(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return 0;
    case at::kDouble: return 1;
    case at::kHalf: return 2;
    case at::kBFloat16: return 3;
    case at::kLong: return 4;
    case at::kInt: return 5;
    case at::kShort: return 6;
    case at::kChar: return 7;
    case at::kByte: return 8;
    case at::kBool: return 9;
    default: return -1;
  }
}

at::ScalarType ArgDtype(const Napi::CallbackInfo& info, size_t i) { return DtypeFromCode(ArgInt(info, i)); }

c10::optional<at::ScalarType> ArgOptDtype(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return c10::nullopt;
  return ArgDtype(info, i);
}

at::Device ParseDevice(const std::string& s) {
  at::Device d(s);  // throws c10::Error for malformed strings
  if (d.is_cpu()) return d;
  if (d.is_cuda()) {
    if (!at::hasCUDA()) throw std::invalid_argument("device '" + s + "' requested but CUDA is not available");
    const int64_t n = static_cast<int64_t>(at::getNumGPUs());
    if (d.has_index() && d.index() >= n) {
      throw std::invalid_argument("device '" + s + "' does not exist (" + std::to_string(n) + " CUDA devices)");
    }
    return d;
  }
  throw std::invalid_argument("unsupported device '" + s + "' (use 'cpu' or 'cuda')");
}

at::Device ArgDevice(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || IsMissing(info[i])) return at::Device(at::kCPU);
  return ParseDevice(ArgString(info, i));
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  // Scopes and the constructor are process-wide state tied to one JS environment.
  static napi_env owner = nullptr;
  if (owner != nullptr && owner != static_cast<napi_env>(env)) {
    throw Napi::Error::New(env, "the wish engine can be loaded in one JS thread only (not in worker threads)");
  }
  owner = env;
  napi_value cls = nullptr;
  NAPI_THROW_IF_FAILED_VOID(env, napi_define_class(env, "NativeTensor", NAPI_AUTO_LENGTH, NativeCtor, nullptr, 0, nullptr, &cls));
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_reference(env, cls, 1, &g_ctor));
  exports.Set("NativeTensor", Napi::Value(env, cls));
  Export<Dispose>(env, exports, "dispose");
  Export<IsDisposed>(env, exports, "isDisposed");
  Export<Keep>(env, exports, "keep");
  Export<ScopeBegin>(env, exports, "scopeBegin");
  Export<ScopeEnd>(env, exports, "scopeEnd");
  Export<ScopeDepth>(env, exports, "scopeDepth");
  Export<LiveTensors>(env, exports, "liveTensors");
  Export<Shape>(env, exports, "shape");
  Export<Size>(env, exports, "size");
  Export<Stride>(env, exports, "stride");
  Export<Dim>(env, exports, "dim");
  Export<Numel>(env, exports, "numel");
  Export<Dtype>(env, exports, "dtype");
  Export<DeviceOf>(env, exports, "device");
  Export<IsContiguous>(env, exports, "isContiguous");
  Export<SameStorage>(env, exports, "sameStorage");
}

}  // namespace wish
