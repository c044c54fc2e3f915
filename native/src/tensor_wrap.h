// How native code talks to JS tensors. Every part of the addon (ops, optimisers, I/O) uses only this
// header to read tensor arguments, return new tensors and turn libtorch errors into JS errors.
//
// Contract (kept stable; other parts depend on it):
//   - A JS tensor is an object made by the addon; it owns one at::Tensor handle. `ArgTensor` returns a
//     reference to that handle (throws a JS TypeError for a non-tensor, a JS Error for a disposed one).
//   - `Wrap(env, t)` makes a new JS tensor for `t`: it joins the innermost tidy scope (if any) and its byte
//     size is reported to V8 so that forgotten tensors still get garbage-collected.
//   - Register entry points with `Export<Fn>(env, exports, "name")`: it catches c10::Error and
//     std::exception and rethrows them as JS errors carrying libtorch's message, so no entry point can
//     crash the process.
#pragma once

#include <napi.h>

#include <ATen/core/Tensor.h>
#include <c10/core/Scalar.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wish {

// ---- tensors ---------------------------------------------------------------------------------------------

bool IsTensor(const Napi::Value& v);
// The tensor held by a JS tensor value; `what` names the argument in the error message.
at::Tensor& ToTensor(const Napi::Value& v, const char* what = "argument");
inline at::Tensor& ArgTensor(const Napi::CallbackInfo& info, size_t i) { return ToTensor(info[i]); }
// Optional tensor argument: undefined/null -> empty optional.
c10::optional<at::Tensor> ArgOptTensor(const Napi::CallbackInfo& info, size_t i);
std::vector<at::Tensor> ArgTensorList(const Napi::CallbackInfo& info, size_t i);

// New JS tensor owning `t` (which must be defined).
Napi::Value Wrap(Napi::Env env, at::Tensor t);
// A JS array of new tensors.
Napi::Value WrapList(Napi::Env env, const std::vector<at::Tensor>& ts);
// `t` if defined, JS null otherwise (e.g. a parameter's missing .grad).
Napi::Value WrapOrNull(Napi::Env env, const at::Tensor& t);

// ---- plain arguments -------------------------------------------------------------------------------------

inline bool IsMissing(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }
int64_t ArgInt(const Napi::CallbackInfo& info, size_t i);
double ArgDouble(const Napi::CallbackInfo& info, size_t i);
bool ArgBool(const Napi::CallbackInfo& info, size_t i);
std::string ArgString(const Napi::CallbackInfo& info, size_t i);
std::vector<int64_t> ArgInts(const Napi::CallbackInfo& info, size_t i);
std::vector<double> ArgDoubles(const Napi::CallbackInfo& info, size_t i);
c10::optional<int64_t> ArgOptInt(const Napi::CallbackInfo& info, size_t i);
c10::optional<double> ArgOptDouble(const Napi::CallbackInfo& info, size_t i);
// A JS number as a Scalar: integral values become int64 scalars (so int tensors stay int), others double;
// booleans become bool scalars.
c10::Scalar ToScalar(const Napi::Value& v);
c10::optional<c10::Scalar> ArgOptScalar(const Napi::CallbackInfo& info, size_t i);

// dtype codes shared with src/engine/dtype.ts.
at::ScalarType DtypeFromCode(int64_t code);
int64_t DtypeToCode(at::ScalarType t);
at::ScalarType ArgDtype(const Napi::CallbackInfo& info, size_t i);
c10::optional<at::ScalarType> ArgOptDtype(const Napi::CallbackInfo& info, size_t i);
// Device strings: "cpu", "cuda", "cuda:1". Unknown or absent devices throw.
at::Device ParseDevice(const std::string& s);
at::Device ArgDevice(const Napi::CallbackInfo& info, size_t i);

// ---- errors ----------------------------------------------------------------------------------------------

using NativeFn = Napi::Value (*)(const Napi::CallbackInfo&);

template <NativeFn F>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  } catch (...) {
    throw Napi::Error::New(info.Env(), "unknown native error");
  }
}

template <NativeFn F>
void Export(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<Guarded<F>>(env, name));
}

}  // namespace wish
