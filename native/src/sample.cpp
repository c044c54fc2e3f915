// Resampling: interpolate (nearest / bilinear / bicubic / area, align_corners), grid_sample, affine_grid, pad.
#include <ATen/ATen.h>

#include "parts.h"
#include "tensor_wrap.h"

namespace wish {
namespace {

// interpolate(x [N,C,H,W], size [oh, ow], scale [sh, sw] | null, mode, alignCorners, antialias)
// `size` is always given (computed in TS as floor(in * scale) when the user passed a scale); `scale` is
// passed on to the kernel like PyTorch does, which then maps coordinates with 1/scale.
// modes: 0 nearest, 1 bilinear, 2 bicubic, 3 nearest-exact, 4 area.
Napi::Value Interpolate(const Napi::CallbackInfo& info) {
  const at::Tensor& x = ArgTensor(info, 0);
  const std::vector<int64_t> size = ArgInts(info, 1);
  c10::optional<double> sh, sw;
  if (!IsMissing(info[2])) {
    const auto s = ArgDoubles(info, 2);
    TORCH_CHECK(s.size() == 2, "interpolate: need 2 scale factors");
    sh = s[0];
    sw = s[1];
  }
  const int64_t mode = ArgInt(info, 3);
  const bool align = ArgBool(info, 4);
  const bool aa = ArgBool(info, 5);
  TORCH_CHECK(x.dim() == 4, "interpolate: expected a 4-D input [N, C, H, W], got ", x.dim(), "-D");
  TORCH_CHECK(size.size() == 2, "interpolate: need an output size of 2 numbers");
  switch (mode) {
    case 0: return Wrap(info.Env(), at::upsample_nearest2d(x, size, sh, sw));
    case 1:
      if (aa) return Wrap(info.Env(), at::_upsample_bilinear2d_aa(x, size, align, sh, sw));
      return Wrap(info.Env(), at::upsample_bilinear2d(x, size, align, sh, sw));
    case 2:
      if (aa) return Wrap(info.Env(), at::_upsample_bicubic2d_aa(x, size, align, sh, sw));
      return Wrap(info.Env(), at::upsample_bicubic2d(x, size, align, sh, sw));
    case 3: return Wrap(info.Env(), at::_upsample_nearest_exact2d(x, size, sh, sw));
    case 4: return Wrap(info.Env(), at::adaptive_avg_pool2d(x, size));
    default: throw std::invalid_argument("interpolate: unknown mode code " + std::to_string(mode));
  }
}

// gridSample(x [N,C,H,W], grid [N,Ho,Wo,2], mode (0 bilinear, 1 nearest, 2 bicubic),
//            padding (0 zeros, 1 border, 2 reflection), alignCorners)
Napi::Value GridSample(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::grid_sampler(ArgTensor(info, 0), ArgTensor(info, 1), ArgInt(info, 2), ArgInt(info, 3), ArgBool(info, 4)));
}

// affineGrid(theta [N,2,3], size [N,C,H,W], alignCorners) -> [N,H,W,2]
Napi::Value AffineGrid(const Napi::CallbackInfo& info) {
  return Wrap(info.Env(), at::affine_grid_generator(ArgTensor(info, 0), ArgInts(info, 1), ArgBool(info, 2)));
}

// pad(x, pads (last dim first, like F.pad), mode (0 constant, 1 reflect, 2 replicate), value)
Napi::Value Pad(const Napi::CallbackInfo& info) {
  const at::Tensor& x = ArgTensor(info, 0);
  const auto pads = ArgInts(info, 1);
  const int64_t mode = ArgInt(info, 2);
  switch (mode) {
    case 0: return Wrap(info.Env(), at::constant_pad_nd(x, pads, ToScalar(info[3])));
    case 1:
      if (pads.size() == 2) return Wrap(info.Env(), at::reflection_pad1d(x, pads));
      TORCH_CHECK(pads.size() == 4, "pad: reflect takes 2 or 4 pad sizes");
      return Wrap(info.Env(), at::reflection_pad2d(x, pads));
    case 2:
      if (pads.size() == 2) return Wrap(info.Env(), at::replication_pad1d(x, pads));
      TORCH_CHECK(pads.size() == 4, "pad: replicate takes 2 or 4 pad sizes");
      return Wrap(info.Env(), at::replication_pad2d(x, pads));
    default: throw std::invalid_argument("pad: unknown mode code " + std::to_string(mode));
  }
}

}  // namespace

void InitSample(Napi::Env env, Napi::Object exports) {
  Export<Interpolate>(env, exports, "interpolate");
  Export<GridSample>(env, exports, "gridSample");
  Export<AffineGrid>(env, exports, "affineGrid");
  Export<Pad>(env, exports, "pad");
}

}  // namespace wish
