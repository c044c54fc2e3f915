// SAM's masks as training targets, read at the loss's points without building full-size masks.
//
// SAM runs in the original image's frame and returns low-resolution logits [T, 3, r, r] (r = L / 4).
// Its postprocess is: bilinear r -> L (align_corners false, no antialias), crop the resized image's
// [newH, newW] corner, bilinear to the original [H, W]. The model trains in an augmented frame
// (flip / resize / crop, a FrameMap from the original frame). For a point of the augmented frame we
// map back to the original frame and evaluate the postprocess chain there in closed form: each of the
// two bilinear steps reads 2 samples per axis, so a value is a fixed mix of at most 4 x 4 low-res
// logits. At the original image's pixel centres this equals postprocessMasks' output exactly; between
// them it is the same resize evaluated at the fractional position (what resizing straight to a finer
// grid would give). Points outside the original image (augmentation padding) are background.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { identityMap, type FrameMap } from '../data/augment/frame-map.ts';
import { pointSample } from './point-sample.ts';

/** SAM's sizes for one image (the same fields as src/sam/postprocess.ts's PostprocessSizes). */
export interface SamGeometry {
  /** L, the padded square input side (1024 for the official models). */
  imgSize: number;
  /** [newH, newW]: the original image resized so its longer side is L. */
  inputSize: [number, number];
  /** [H, W] of the original image. */
  originalSize: [number, number];
}

/** Logit given to points outside the original image (augmentation padding): surely background. */
export const OUTSIDE_LOGIT = -1e4;

interface Taps {
  index: Tensor; // [n, P, 2, 4] int64 low-res indices per axis (x, y)
  weight: Tensor; // [n, P, 2, 4]
}

/**
 * Both axes of the postprocess chain at once. pos [n, P, 2]: continuous (x, y) in the original frame
 * (pixel i covers [i, i+1)); orig = (W, H), input = (newW, newH), L = imgSize, r = low-res size.
 */
function taps(pos: Tensor, orig: [number, number], input: [number, number], L: number, r: number): Taps {
  const opts = { dtype: pos.dtype, device: pos.device };
  // Second resize (cropped L-grid -> original), as interpolate: source = (out + 0.5) * in / out - 0.5.
  const s = pos
    .mul(torch.tensor([input[0] / orig[0], input[1] / orig[1]], opts))
    .sub(0.5)
    .clampMin(0);
  const last = torch.tensor([input[0] - 1, input[1] - 1], opts);
  const k0 = s.floor().minimum(last);
  const k1 = k0.add(1).minimum(last);
  const f = s.sub(k0).clamp(0, 1);
  // First resize (low-res r -> L) read at each L-grid index k: two low-res taps and the weight of the second.
  const first = (k: Tensor): [Tensor, Tensor, Tensor] => {
    const t = k
      .add(0.5)
      .mul(r / L)
      .sub(0.5)
      .clampMin(0);
    const j0 = t.floor().clampMax(r - 1);
    return [j0, j0.add(1).clampMax(r - 1), t.sub(j0).clamp(0, 1)];
  };
  const [a0, a1, g0] = first(k0);
  const [b0, b1, g1] = first(k1);
  const wk0 = f.rsub(1);
  return {
    index: torch.stack([a0, a1, b0, b1], -1).long(),
    weight: torch.stack([wk0.mul(g0.rsub(1)), wk0.mul(g0), f.mul(g1.rsub(1)), f.mul(g1)], -1),
  };
}

/** Original-frame coordinates [..., 2] of normalised augmented-frame points coords [..., 2]. */
export function toOriginalFrame(coords: Tensor, frame: FrameMap): [Tensor, Tensor] {
  const x = coords.select(-1, 0).mul(frame.dstWidth).sub(frame.tx).div(frame.sx);
  const y = coords.select(-1, 1).mul(frame.dstHeight).sub(frame.ty).div(frame.sy);
  return [x, y];
}

function checkGeometry(g: SamGeometry, frame: FrameMap): void {
  const [H, W] = g.originalSize;
  const [h, w] = g.inputSize;
  if (!(h >= 1 && w >= 1 && h <= g.imgSize && w <= g.imgSize)) {
    throw new Error(`SAM geometry: input size ${h}x${w} must fit the ${g.imgSize}x${g.imgSize} model input`);
  }
  if (frame.srcWidth !== W || frame.srcHeight !== H) {
    throw new Error(
      `SAM geometry: original image is ${W}x${H} but the frame map starts from ${frame.srcWidth}x${frame.srcHeight}`,
    );
  }
}

/**
 * SAM low-res logits read at augmented-frame points. lowRes [T, K, r, r]; coords [1, P, 2] (the same
 * points for every target) or [T, P, 2], normalised to [0, 1] over the augmented frame -> logits
 * [T, K, P] (OUTSIDE_LOGIT where the point falls outside the original image).
 */
export function sampleSamLogits(
  lowRes: Tensor,
  geometry: SamGeometry,
  frame: FrameMap,
  coords: Tensor,
): Tensor {
  if (lowRes.ndim !== 4 || lowRes.shape[2] !== lowRes.shape[3]) {
    throw new Error(`sampleSamLogits: low-res logits must be [T, K, r, r], got [${lowRes.shape.join(', ')}]`);
  }
  const [T, K, r] = lowRes.shape;
  const c = coords.shape;
  if (c.length !== 3 || c[2] !== 2 || (c[0] !== 1 && c[0] !== T)) {
    throw new Error(`sampleSamLogits: coords must be [1 or ${T}, P, 2], got [${c.join(', ')}]`);
  }
  checkGeometry(geometry, frame);
  const [H, W] = geometry.originalSize;
  const [h, w] = geometry.inputSize;
  const L = geometry.imgSize;
  const P = c[1];
  return torch.tidy(() => {
    const pts = coords.to('float64'); // composed maps in double, like the frame maps themselves
    const [x, y] = toOriginalFrame(pts, frame); // [n, P]
    const pos = torch.stack([x, y], -1); // [n, P, 2]
    const tp = taps(pos, [W, H], [w, h], L, r);
    // 16 taps per point: flat index iy * r + ix into one r x r map, weight wy * wx.
    const ix = tp.index.select(2, 0);
    const iy = tp.index.select(2, 1);
    const n = c[0];
    const within = iy
      .mul(r)
      .unsqueeze(-1)
      .add(ix.unsqueeze(-2))
      .reshape(n, 1, P * 16);
    const wx = tp.weight.select(2, 0);
    const wy = tp.weight.select(2, 1);
    const wts = wy.unsqueeze(-1).mul(wx.unsqueeze(-2)).reshape(n, 1, P, 16).to(lowRes.dtype);
    const inside = pos
      .ge(0)
      .logicalAnd(pos.lt(torch.tensor([W, H], { dtype: 'float64', device: pos.device })))
      .all(-1)
      .unsqueeze(1); // [n, 1, P]
    // Dim-0 index_select into the flattened maps (libtorch's gather / index_select along an inner dim is
    // far slower here): row (t, k) starts at (t * K + k) * r * r.
    const rowStart = torch.arange(T * K, undefined, 1, { dtype: 'int64', device: lowRes.device }).mul(r * r);
    const index = rowStart.reshape(T, K, 1).add(within); // [T, K, P*16]
    const vals = lowRes.reshape(-1).indexSelect(0, index.flatten()).reshape(T, K, P, 16).mul(wts).sum(-1); // [T, K, P]
    return vals.where(inside, OUTSIDE_LOGIT);
  });
}

/**
 * SAM's logits resampled onto the augmented frame's [h, w] grid (e.g. the model's mask resolution):
 * the same values as sampleSamLogits at the grid's pixel centres. lowRes [T, K, r, r] -> [T, K, h, w].
 */
export function samLogitsInFrame(
  lowRes: Tensor,
  geometry: SamGeometry,
  frame: FrameMap,
  size: [number, number],
): Tensor {
  const [h, w] = size;
  return torch.tidy(() => {
    const grid = { dtype: 'float64' as const, device: lowRes.device };
    const ys = torch.arange(h, undefined, 1, grid).add(0.5).div(h);
    const xs = torch.arange(w, undefined, 1, grid).add(0.5).div(w);
    const [gy, gx] = torch.meshgrid([ys, xs], 'ij');
    const coords = torch.stack([gx, gy], -1).reshape(1, h * w, 2);
    const [T, K] = lowRes.shape;
    return sampleSamLogits(lowRes, geometry, frame, coords).reshape(T, K, h, w);
  });
}

/**
 * SAM's postprocessed logits in the original frame, [T, K, H, W] (postprocessMasks' values), for caching
 * once per image and training through FrameMaskTargets. Picks the cheaper exact route: 16 low-res taps
 * per original pixel for small images, or SAM's own two resizes (r -> L -> H x W) for large ones.
 */
export function samOriginalFrameLogits(lowRes: Tensor, geometry: SamGeometry): Tensor {
  const [H, W] = geometry.originalSize;
  const L = geometry.imgSize;
  if (H * W * 16 <= L * L) return samLogitsInFrame(lowRes, geometry, identityMap(W, H), [H, W]);
  return torch.tidy(() => {
    const full = torch.interpolate(lowRes, { size: [L, L], mode: 'bilinear', alignCorners: false });
    const cropped = full.slice(2, 0, geometry.inputSize[0]).slice(3, 0, geometry.inputSize[1]);
    return torch.interpolate(cropped, { size: [H, W], mode: 'bilinear', alignCorners: false });
  });
}

/**
 * The mask targets of one image, read at points of the augmented frame. `levels` is 3 for SAM's
 * candidate masks, 1 for full masks. Values are 0/1 (soft at full-mask edges).
 */
export interface MaskTargets {
  readonly count: number;
  readonly levels: number;
  /** coords [1, P, 2] (shared) or [count, P, 2] in [0, 1] -> [count, levels, P]. */
  sampleAll(coords: Tensor): Tensor;
  /** Target targetIdx[m] at level levels[m], read at coords [M, P, 2] -> [M, P]. */
  samplePairs(targetIdx: number[], levels: number[], coords: Tensor): Tensor;
}

function pairIndex(targetIdx: number[], levels: number[], count: number, nLevels: number): Tensor {
  if (targetIdx.length !== levels.length) {
    throw new Error(`samplePairs: ${targetIdx.length} targets but ${levels.length} levels`);
  }
  const flat = targetIdx.map((t, m) => {
    const l = levels[m];
    if (!(Number.isInteger(t) && t >= 0 && t < count) || !(Number.isInteger(l) && l >= 0 && l < nLevels)) {
      throw new Error(
        `samplePairs: pair ${m} (target ${t}, level ${l}) outside ${count} targets x ${nLevels} levels`,
      );
    }
    return t * nLevels + l;
  });
  return torch.tensor(flat, { dtype: 'int64' });
}

/** SAM's three candidate masks per target: logits > threshold (SAM's mask_threshold, 0). */
export class SamMaskTargets implements MaskTargets {
  readonly count: number;
  readonly levels: number;
  /**
   * lowRes [T, 3, r, r] SAM low-res logits in the original frame; frame: original -> augmented frame.
   * The tensor is borrowed: the caller keeps it alive while this object is used.
   */
  constructor(
    readonly lowRes: Tensor,
    readonly geometry: SamGeometry,
    readonly frame: FrameMap,
    readonly threshold = 0,
  ) {
    if (lowRes.ndim !== 4)
      throw new Error(
        `SamMaskTargets: low-res logits must be [T, 3, r, r], got [${lowRes.shape.join(', ')}]`,
      );
    checkGeometry(geometry, frame);
    this.count = lowRes.shape[0];
    this.levels = lowRes.shape[1];
  }
  sampleAll(coords: Tensor): Tensor {
    return torch.tidy(() =>
      sampleSamLogits(this.lowRes, this.geometry, this.frame, coords).gt(this.threshold).float(),
    );
  }
  samplePairs(targetIdx: number[], levels: number[], coords: Tensor): Tensor {
    return torch.tidy(() => {
      const idx = pairIndex(targetIdx, levels, this.count, this.levels).to(this.lowRes.device);
      const [, , r] = this.lowRes.shape;
      const chosen = this.lowRes.flatten(0, 1).indexSelect(0, idx).reshape(targetIdx.length, 1, r, r);
      return sampleSamLogits(chosen, this.geometry, this.frame, coords).squeeze(1).gt(this.threshold).float();
    });
  }
}

/**
 * Masks kept in the ORIGINAL frame, [T, K, H, W] (e.g. SAM's three postprocessed masks per target, made
 * once when SAM runs, or its postprocessed logits with `threshold`), read at augmented-frame points: each
 * point is mapped back through the frame map and sampled bilinearly, as Mask2Former point-samples its
 * full-resolution ground truth (so binary masks give soft values within half a pixel of an edge; outside
 * the original image reads 0). One affine map and one grid_sample per call: the cheap path for training.
 * With `threshold` (for logits) the sampled value is compared: 1 where > threshold, else 0.
 */
export class FrameMaskTargets implements MaskTargets {
  readonly count: number;
  readonly levels: number;
  /** grid_sample coordinates of an augmented-frame point c: g = c * gridScale + gridOffset, per axis (x, y). */
  readonly gridScale: [number, number];
  readonly gridOffset: [number, number];
  /** masks are borrowed: the caller keeps them alive while this object is used (it owns no tensor). */
  constructor(
    readonly masks: Tensor,
    readonly frame: FrameMap,
    readonly threshold: number | null = null,
  ) {
    if (masks.ndim !== 4) {
      throw new Error(`FrameMaskTargets: masks must be [T, K, H, W], got [${masks.shape.join(', ')}]`);
    }
    const [T, K, H, W] = masks.shape;
    if (frame.srcWidth !== W || frame.srcHeight !== H) {
      throw new Error(
        `FrameMaskTargets: masks are ${W}x${H} but the frame map starts from ${frame.srcWidth}x${frame.srcHeight}`,
      );
    }
    this.count = T;
    this.levels = K;
    // grid_sample coordinate g = 2 x / W - 1 of the original-frame x = (c * dstW - tx) / sx.
    this.gridScale = [(2 * frame.dstWidth) / (frame.sx * W), (2 * frame.dstHeight) / (frame.sy * H)];
    this.gridOffset = [(-2 * frame.tx) / (frame.sx * W) - 1, (-2 * frame.ty) / (frame.sy * H) - 1];
  }
  private read(maps: Tensor, coords: Tensor): Tensor {
    // maps [N, C, H, W], coords [N, P, 2] -> [N, C, P]; runs inside the caller's tidy.
    const opts = { dtype: 'float32' as const, device: maps.device };
    const scale = torch.tensor(this.gridScale, opts);
    const offset = torch.tensor(this.gridOffset, opts);
    const grid = coords.float().mul(scale).add(offset).unsqueeze(2);
    const v = torch.gridSample(maps.float(), grid, { alignCorners: false }).squeeze(3);
    return this.threshold === null ? v : v.gt(this.threshold).float();
  }
  sampleAll(coords: Tensor): Tensor {
    return torch.tidy(() => {
      const P = coords.shape[1];
      const pts = coords.shape[0] === this.count ? coords : coords.expand(this.count, P, 2);
      return this.read(this.masks, pts);
    });
  }
  samplePairs(targetIdx: number[], levels: number[], coords: Tensor): Tensor {
    return torch.tidy(() => {
      const idx = pairIndex(targetIdx, levels, this.count, this.levels).to(this.masks.device);
      const [, , H, W] = this.masks.shape;
      const chosen = this.masks.reshape(this.count * this.levels, 1, H, W).indexSelect(0, idx);
      return this.read(chosen, coords).squeeze(1);
    });
  }
}

/**
 * Full masks (a fourth label kind) already in the augmented frame: masks [T, H, W] (0/1, any float or
 * bool dtype), point-sampled bilinearly as Mask2Former samples its ground truth. One level.
 */
export class DenseMaskTargets implements MaskTargets {
  readonly count: number;
  readonly levels = 1;
  constructor(readonly masks: Tensor) {
    if (masks.ndim !== 3)
      throw new Error(`DenseMaskTargets: masks must be [T, H, W], got [${masks.shape.join(', ')}]`);
    this.count = masks.shape[0];
  }
  sampleAll(coords: Tensor): Tensor {
    return torch.tidy(() => {
      const m = this.masks.float();
      const pts = coords.shape[0] === this.count ? coords : coords.expand(this.count, coords.shape[1], 2);
      return pointSample(m, pts).unsqueeze(1); // [T, 1, P]
    });
  }
  samplePairs(targetIdx: number[], levels: number[], coords: Tensor): Tensor {
    return torch.tidy(() => {
      const idx = pairIndex(targetIdx, levels, this.count, 1).to(this.masks.device);
      return pointSample(this.masks.float().indexSelect(0, idx), coords); // [M, P]
    });
  }
}

/** No instance (e.g. a tag image whose CAM gave no point): nothing to read. */
export class EmptyMaskTargets implements MaskTargets {
  readonly count = 0;
  readonly levels = 1;
  sampleAll(coords: Tensor): Tensor {
    return torch.zeros([0, 1, coords.shape[1]], { device: coords.device });
  }
  samplePairs(targetIdx: number[], levels: number[], coords: Tensor): Tensor {
    pairIndex(targetIdx, levels, 0, 1); // throws for any pair
    return torch.zeros([0, coords.shape[1]], { device: coords.device });
  }
}
