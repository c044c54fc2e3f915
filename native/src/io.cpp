// Moving data between JS memory and tensors: typed arrays, raw little-endian buffers, scalars.
#include <ATen/ATen.h>

#include <cstring>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

struct Bytes {
  const uint8_t* data;
  size_t length;
};

Bytes ViewBytes(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    return {static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset(), ta.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    return {static_cast<const uint8_t*>(ab.Data()), ab.ByteLength()};
  }
  if (v.IsDataView()) {
    Napi::DataView dv = v.As<Napi::DataView>();
    return {static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset(), dv.ByteLength()};
  }
  throw Napi::TypeError::New(v.Env(), "expected a TypedArray, Buffer, DataView or ArrayBuffer");
}

// fromBytes(bytes, srcDtype, shape, dstDtype?, device?) -> tensor. Copies; `bytes` holds
// numel * itemsize(srcDtype) little-endian values in row-major order.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  const Bytes b = ViewBytes(info[0]);
  const at::ScalarType src = ArgDtype(info, 1);
  const std::vector<int64_t> shape = ArgInts(info, 2);
  int64_t numel = 1;
  for (int64_t s : shape) {
    if (s < 0) throw Napi::RangeError::New(info.Env(), "shape entries must be >= 0");
    numel *= s;
  }
  const size_t need = static_cast<size_t>(numel) * c10::elementSize(src);
  if (need != b.length) {
    throw Napi::RangeError::New(info.Env(), "buffer holds " + std::to_string(b.length) + " bytes but shape [" +
                                                c10::str(c10::IntArrayRef(shape)).substr(1) + " of " +
                                                c10::toString(src) + " needs " + std::to_string(need));
  }
  // bool bytes other than 0/1 are not valid bools in libtorch: read them as uint8 and compare with 0.
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(src == at::kBool ? at::kByte : src));
  if (need > 0) std::memcpy(t.data_ptr(), b.data, need);
  if (src == at::kBool) t = t.ne(0);
  const c10::optional<at::ScalarType> dst = ArgOptDtype(info, 3);
  const at::Device dev = ArgDevice(info, 4);
  if ((dst && *dst != src) || !dev.is_cpu()) t = t.to(dev, dst.value_or(src));
  return Wrap(info.Env(), std::move(t));
}

// toBytes(t, asDtype?) -> ArrayBuffer with the tensor's values (row-major, little-endian).
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  at::Tensor t = ArgTensor(info, 0);
  const c10::optional<at::ScalarType> as = ArgOptDtype(info, 1);
  t = t.detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  if (as && *as != t.scalar_type()) t = t.to(*as);
  t = t.contiguous();
  const size_t n = static_cast<size_t>(t.numel()) * t.element_size();
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), n);
  if (n > 0) std::memcpy(ab.Data(), t.data_ptr(), n);
  return ab;
}

// item(t) -> number (the single value of a one-element tensor).
Napi::Value Item(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (t.numel() != 1) {
    throw Napi::RangeError::New(info.Env(), "item(): tensor has " + std::to_string(t.numel()) +
                                                " elements, need exactly one");
  }
  return Napi::Number::New(info.Env(), t.item<double>());
}

}  // namespace

void InitIo(Napi::Env env, Napi::Object exports) {
  Export<FromBytes>(env, exports, "fromBytes");
  Export<ToBytes>(env, exports, "toBytes");
  Export<Item>(env, exports, "item");
}

}  // namespace wish
