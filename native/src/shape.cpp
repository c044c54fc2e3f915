// Views, indexing, joins, gathers and scatters.
#include <ATen/ATen.h>
#include <ATen/ScalarOps.h>
#include <ATen/TensorIndexing.h>
#include <torch/version.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

using at::indexing::TensorIndex;
#if TORCH_VERSION_MAJOR >= 2
using SliceInt = c10::SymInt;  // 2.x slices take symbolic ints
#else
using SliceInt = int64_t;
#endif

Napi::Value Reshape(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).reshape(ArgInts(info, 1))); }
Napi::Value View(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).view(ArgInts(info, 1))); }
Napi::Value Permute(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).permute(ArgInts(info, 1))); }
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).transpose(ArgInt(info, 1), ArgInt(info, 2)));
}
Napi::Value Narrow(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).narrow(ArgInt(info, 1), ArgInt(info, 2), ArgInt(info, 3)));
}
Napi::Value Select(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).select(ArgInt(info, 1), ArgInt(info, 2)));
}
// slice(t, dim, start|null, end|null, step)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::slice(ArgTensor(info, 0), ArgInt(info, 1), ArgOptInt(info, 2), ArgOptInt(info, 3), ArgInt(info, 4)));
}
Napi::Value IndexSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::index_select(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2)));
}
Napi::Value Gather(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::gather(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2)));
}
// scatter(t, dim, index, src tensor | number)
Napi::Value Scatter(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsTensor(info[3])) return Wrap(info.Env(), at::scatter(t, ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3)));
  return Wrap(info.Env(), at::scatter(t, ArgInt(info, 1), ArgTensor(info, 2), ToScalar(info[3])));
}
Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::scatter_add(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3)));
}
// scatterReduce(t, dim, index, src, reduce, includeSelf)
Napi::Value ScatterReduce(const Napi::CallbackInfo& info) {
  const std::string reduce = ArgString(info, 4);
  return Wrap(info.Env(), at::scatter_reduce(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3), reduce,
                                             ArgBool(info, 5)));
}
// indexAdd(t, dim, index, src, alpha)
Napi::Value IndexAdd(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::index_add(ArgTensor(info, 0), ArgInt(info, 1), ArgTensor(info, 2), ArgTensor(info, 3), ToScalar(info[4])));
}
// maskedFill(t, mask, value tensor | number)
Napi::Value MaskedFill(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsTensor(info[2])) return Wrap(info.Env(), at::masked_fill(t, ArgTensor(info, 1), ArgTensor(info, 2)));
  return Wrap(info.Env(), at::masked_fill(t, ArgTensor(info, 1), ToScalar(info[2])));
}
Napi::Value MaskedFill_(const Napi::CallbackInfo& info) {
  at::Tensor& t = ArgTensor(info, 0);
  if (IsTensor(info[2])) t.masked_fill_(ArgTensor(info, 1), ArgTensor(info, 2));
  else t.masked_fill_(ArgTensor(info, 1), ToScalar(info[2]));
  return info.Env().Undefined();
}
Napi::Value MaskedSelect(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::masked_select(ArgTensor(info, 0), ArgTensor(info, 1)));
}
Napi::Value Cat(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::cat(ArgTensorList(info, 0), ArgInt(info, 1))); }
Napi::Value Stack(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::stack(ArgTensorList(info, 0), ArgInt(info, 1))); }
// split(t, size | sizes[], dim)
Napi::Value Split(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  const int64_t dim = ArgInt(info, 2);
  if (info[1].IsNumber()) return WrapList(info.Env(), at::split(t, ArgInt(info, 1), dim));
  return WrapList(info.Env(), at::split_with_sizes(t, ArgInts(info, 1), dim));
}
Napi::Value Chunk(const Napi::CallbackInfo& info) {
  return WrapList(info.Env(), at::chunk(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2)));
}
Napi::Value Unbind(const Napi::CallbackInfo& info) { return WrapList(info.Env(), at::unbind(ArgTensor(info, 0), ArgInt(info, 1))); }
Napi::Value Expand(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).expand(ArgInts(info, 1))); }
Napi::Value Repeat(const Napi::CallbackInfo& info) { return Wrap(info.Env(), ArgTensor(info, 0).repeat(ArgInts(info, 1))); }
// repeatInterleave(t, repeats, dim|null)
Napi::Value RepeatInterleave(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::repeat_interleave(ArgTensor(info, 0), ArgInt(info, 1), ArgOptInt(info, 2)));
}
Napi::Value Flatten(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::flatten(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2)));
}
Napi::Value Unflatten(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).unflatten(ArgInt(info, 1), ArgInts(info, 2)));
}
Napi::Value Squeeze(const Napi::CallbackInfo& info) {
  const at::Tensor& t = ArgTensor(info, 0);
  if (IsMissing(info[1])) return Wrap(info.Env(), at::squeeze(t));
  return Wrap(info.Env(), at::squeeze(t, ArgInt(info, 1)));
}
Napi::Value Unsqueeze(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::unsqueeze(ArgTensor(info, 0), ArgInt(info, 1))); }
Napi::Value Nonzero(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::nonzero(ArgTensor(info, 0))); }
Napi::Value Flip(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::flip(ArgTensor(info, 0), ArgInts(info, 1))); }
Napi::Value Roll(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::roll(ArgTensor(info, 0), ArgInts(info, 1), ArgInts(info, 2)));
}
Napi::Value Tril(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::tril(ArgTensor(info, 0), ArgInt(info, 1))); }
Napi::Value Triu(const Napi::CallbackInfo& info) { return Wrap(info.Env(), at::triu(ArgTensor(info, 0), ArgInt(info, 1))); }
Napi::Value Movedim(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::movedim(ArgTensor(info, 0), ArgInts(info, 1), ArgInts(info, 2)));
}
Napi::Value Diagonal(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::diagonal(ArgTensor(info, 0), ArgInt(info, 1), ArgInt(info, 2), ArgInt(info, 3)));
}
Napi::Value Meshgrid(const Napi::CallbackInfo& info) {
  const std::string indexing = ArgString(info, 1);
  return WrapList(info.Env(), at::meshgrid(ArgTensorList(info, 0), indexing));
}

// Index spec from JS: int, null (new axis), "...", [start|null, stop|null, step] slice, bool, or tensor.
std::vector<TensorIndex> ArgIndices(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsArray()) throw Napi::TypeError::New(info.Env(), "index: expected an array of index specs");
  Napi::Array arr = info[i].As<Napi::Array>();
  std::vector<TensorIndex> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) {
    Napi::Value v = arr.Get(k);
    if (v.IsNull() || v.IsUndefined()) {
      out.emplace_back(at::indexing::None);
    } else if (v.IsNumber()) {
      out.emplace_back(v.As<Napi::Number>().Int64Value());
    } else if (v.IsBoolean()) {
      out.emplace_back(v.As<Napi::Boolean>().Value());
    } else if (v.IsString()) {
      if (v.As<Napi::String>().Utf8Value() != "...") throw Napi::TypeError::New(info.Env(), "index: the only string spec is '...'");
      out.emplace_back(at::indexing::Ellipsis);
    } else if (v.IsArray()) {
      Napi::Array s = v.As<Napi::Array>();
      auto opt = [&](uint32_t j) -> c10::optional<SliceInt> {
        Napi::Value e = s.Get(j);
        if (IsMissing(e)) return c10::nullopt;
        return SliceInt(e.As<Napi::Number>().Int64Value());
      };
      Napi::Value st = s.Get(2u);
      out.emplace_back(at::indexing::Slice(opt(0), opt(1), IsMissing(st) ? c10::optional<SliceInt>() : opt(2)));
    } else {
      out.emplace_back(ToTensor(v, "index"));
    }
  }
  return out;
}

// index(t, spec[]) == t[spec...] in Python
Napi::Value Index(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), ArgTensor(info, 0).index(ArgIndices(info, 1)));
}

// indexPut_(t, spec[], value tensor | number, accumulate): t[spec...] = value
Napi::Value IndexPut_(const Napi::CallbackInfo& info) {
  at::Tensor& t = ArgTensor(info, 0);
  std::vector<TensorIndex> idx = ArgIndices(info, 1);
  const bool acc = ArgBool(info, 3);
  if (acc) {
    // accumulate needs tensor indices only: t.index_put_({i0, i1, ...}, v, true)
    c10::List<c10::optional<at::Tensor>> tl;
    for (auto& ti : idx) {
      TORCH_CHECK(ti.is_tensor(), "indexPut_ with accumulate takes index tensors only");
      tl.push_back(ti.tensor());
    }
    at::Tensor v = IsTensor(info[2]) ? ArgTensor(info, 2) : at::full({}, ToScalar(info[2]), t.options());
    t.index_put_(tl, v, true);
  } else if (IsTensor(info[2])) {
    t.index_put_(idx, ArgTensor(info, 2));
  } else {
    t.index_put_(idx, ToScalar(info[2]));
  }
  return info.Env().Undefined();
}

}  // namespace

void InitShape(Napi::Env env, Napi::Object exports) {
  Export<Reshape>(env, exports, "reshape");
  Export<View>(env, exports, "view");
  Export<Permute>(env, exports, "permute");
  Export<Transpose>(env, exports, "transpose");
  Export<Narrow>(env, exports, "narrow");
  Export<Select>(env, exports, "select");
  Export<Slice>(env, exports, "slice");
  Export<IndexSelect>(env, exports, "indexSelect");
  Export<Gather>(env, exports, "gather");
  Export<Scatter>(env, exports, "scatter");
  Export<ScatterAdd>(env, exports, "scatterAdd");
  Export<ScatterReduce>(env, exports, "scatterReduce");
  Export<IndexAdd>(env, exports, "indexAdd");
  Export<MaskedFill>(env, exports, "maskedFill");
  Export<MaskedFill_>(env, exports, "maskedFill_");
  Export<MaskedSelect>(env, exports, "maskedSelect");
  Export<Cat>(env, exports, "cat");
  Export<Stack>(env, exports, "stack");
  Export<Split>(env, exports, "split");
  Export<Chunk>(env, exports, "chunk");
  Export<Unbind>(env, exports, "unbind");
  Export<Expand>(env, exports, "expand");
  Export<Repeat>(env, exports, "repeat");
  Export<RepeatInterleave>(env, exports, "repeatInterleave");
  Export<Flatten>(env, exports, "flatten");
  Export<Unflatten>(env, exports, "unflatten");
  Export<Squeeze>(env, exports, "squeeze");
  Export<Unsqueeze>(env, exports, "unsqueeze");
  Export<Nonzero>(env, exports, "nonzero");
  Export<Flip>(env, exports, "flip");
  Export<Roll>(env, exports, "roll");
  Export<Tril>(env, exports, "tril");
  Export<Triu>(env, exports, "triu");
  Export<Movedim>(env, exports, "movedim");
  Export<Diagonal>(env, exports, "diagonal");
  Export<Meshgrid>(env, exports, "meshgrid");
  Export<Index>(env, exports, "index");
  Export<IndexPut_>(env, exports, "indexPut_");
}

}  // namespace wish
