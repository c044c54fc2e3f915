// Multi-scale deformable attention (Deformable DETR, as Mask2Former's pixel decoder uses it): each query
// looks at P sampled points per head and per level around its reference point, with offsets and weights
// predicted from the query. The sampling is bilinear grid_sample (zeros padding, align_corners false), the
// same formulation as the reference's pure-PyTorch path, so it runs on CPU and GPU without a custom kernel.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { Linear, Module, init } from '../../engine/nn/index.ts';
import { deviceConstant } from '../device-constants.ts';

/** [H, W] of each level, in the order the levels are concatenated. */
export type SpatialShapes = [number, number][];

/**
 * The sampling core.
 *   value [N, S, M, D]  (S = sum of H_l * W_l, levels concatenated in spatialShapes order)
 *   samplingLocations [N, Lq, M, L, P, 2]  (x, y in [0, 1] of each level's map)
 *   attentionWeights [N, Lq, M, L, P]  (softmaxed over L * P)
 *   -> [N, Lq, M * D]
 */
export function msDeformAttnCore(
  value: Tensor,
  spatialShapes: SpatialShapes,
  samplingLocations: Tensor,
  attentionWeights: Tensor,
): Tensor {
  const [n, s, m, d] = value.shape;
  const [, lq, , l, p] = samplingLocations.shape;
  const total = spatialShapes.reduce((acc, [h, w]) => acc + h * w, 0);
  if (total !== s)
    throw new Error(`msDeformAttnCore: value has ${s} positions, spatial shapes sum to ${total}`);
  if (spatialShapes.length !== l) {
    throw new Error(`msDeformAttnCore: ${spatialShapes.length} spatial shapes for ${l} sampled levels`);
  }
  return torch.tidy(() => {
    const values = value.split(
      spatialShapes.map(([h, w]) => h * w),
      1,
    );
    // [0, 1] -> grid_sample's [-1, 1] (align_corners false: -1 and 1 are the outer pixel edges)
    const grids = samplingLocations.mul(2).sub(1);
    // weights [N, Lq, M, L, P] -> [N*M, 1, Lq, L, P]
    const w = attentionWeights.transpose(1, 2).reshape(n * m, 1, lq, l, p);
    let out: Tensor | null = null;
    spatialShapes.forEach(([h, wd], lid) => {
      // [N, H*W, M, D] -> [N*M, D, H, W]
      const v = values[lid]
        .flatten(2)
        .transpose(1, 2)
        .reshape(n * m, d, h, wd);
      // [N, Lq, M, P, 2] -> [N*M, Lq, P, 2]
      const g = grids.select(3, lid).transpose(1, 2).flatten(0, 1);
      const sampled = torch.gridSample(v, g, { mode: 'bilinear', paddingMode: 'zeros', alignCorners: false }); // [N*M, D, Lq, P]
      const part = sampled.mul(w.select(3, lid)).sum(-1); // [N*M, D, Lq]
      out = out === null ? part : out.add(part);
    });
    // [N*M, D, Lq] -> [N, M*D, Lq] -> [N, Lq, M*D]
    return out!
      .view(n, m * d, lq)
      .transpose(1, 2)
      .contiguous();
  });
}

export interface MSDeformAttnOptions {
  dModel: number;
  nLevels: number;
  nHeads: number;
  nPoints: number;
}

/** Keys: sampling_offsets, attention_weights, value_proj, output_proj (Deformable DETR's names). */
export class MSDeformAttn extends Module {
  readonly samplingOffsets: Linear;
  readonly attentionWeights: Linear;
  readonly valueProj: Linear;
  readonly outputProj: Linear;
  readonly dModel: number;
  readonly nLevels: number;
  readonly nHeads: number;
  readonly nPoints: number;

  constructor(opts: MSDeformAttnOptions) {
    super();
    const { dModel, nLevels, nHeads, nPoints } = opts;
    if (dModel % nHeads !== 0)
      throw new Error(`MSDeformAttn: dModel ${dModel} not divisible by nHeads ${nHeads}`);
    this.dModel = dModel;
    this.nLevels = nLevels;
    this.nHeads = nHeads;
    this.nPoints = nPoints;
    this.samplingOffsets = this.registerModule(
      'sampling_offsets',
      new Linear(dModel, nHeads * nLevels * nPoints * 2),
    );
    this.attentionWeights = this.registerModule(
      'attention_weights',
      new Linear(dModel, nHeads * nLevels * nPoints),
    );
    this.valueProj = this.registerModule('value_proj', new Linear(dModel, dModel));
    this.outputProj = this.registerModule('output_proj', new Linear(dModel, dModel));
    this.resetParameters();
  }

  // Deformable DETR's init: zero offset weights, and biases that start head h's points on a ray at angle
  // 2*pi*h/heads, point k at distance k+1 (in pixels of each level); uniform attention at first.
  private resetParameters(): void {
    const { nHeads: m, nLevels: l, nPoints: p } = this;
    init.constant_(this.samplingOffsets.weight, 0);
    const bias = new Float32Array(m * l * p * 2);
    for (let h = 0; h < m; h++) {
      const theta = (2 * Math.PI * h) / m;
      let cx = Math.cos(theta);
      let cy = Math.sin(theta);
      const norm = Math.max(Math.abs(cx), Math.abs(cy));
      cx /= norm;
      cy /= norm;
      for (let lv = 0; lv < l; lv++) {
        for (let k = 0; k < p; k++) {
          const at = ((h * l + lv) * p + k) * 2;
          bias[at] = cx * (k + 1);
          bias[at + 1] = cy * (k + 1);
        }
      }
    }
    torch.noGrad(() => this.samplingOffsets.bias!.copy_(torch.fromTypedArray(bias)));
    init.constant_(this.attentionWeights.weight, 0);
    init.constant_(this.attentionWeights.bias!, 0);
    init.xavierUniform_(this.valueProj.weight);
    init.constant_(this.valueProj.bias!, 0);
    init.xavierUniform_(this.outputProj.weight);
    init.constant_(this.outputProj.bias!, 0);
  }

  /**
   * query [N, Lq, C], referencePoints [N or 1, Lq, L, 2] (x, y in [0, 1]), input [N, S, C] -> [N, Lq, C]
   */
  forward(query: Tensor, referencePoints: Tensor, input: Tensor, spatialShapes: SpatialShapes): Tensor {
    const { nHeads: m, nLevels: l, nPoints: p } = this;
    const [n, lq, c] = query.shape;
    const s = input.shape[1];
    if (spatialShapes.length !== l) {
      throw new Error(`MSDeformAttn: built for ${l} levels, got ${spatialShapes.length} spatial shapes`);
    }
    return torch.tidy(() => {
      const value = this.valueProj.forward(input).view(n, s, m, c / m);
      const offsets = this.samplingOffsets.forward(query).view(n, lq, m, l, p, 2);
      const weights = this.attentionWeights
        .forward(query)
        .view(n, lq, m, l * p)
        .softmax(-1)
        .view(n, lq, m, l, p);
      // offsets are in pixels of each level: divide by (W, H)
      const normalizer = deviceConstant(
        `msdeform-normalizer/${shapesKey(spatialShapes)}`,
        query.device,
        (device) =>
          torch.tensor(
            spatialShapes.map(([h, w]) => [w, h]),
            { device },
          ),
      ); // [L, 2]
      const ref = referencePoints.view(referencePoints.shape[0], lq, 1, l, 1, 2);
      const locations = ref.add(offsets.div(normalizer.view(1, 1, 1, l, 1, 2)));
      const out = msDeformAttnCore(value, spatialShapes, locations, weights);
      return this.outputProj.forward(out);
    });
  }
}

/** A cache key for a list of level shapes. */
export const shapesKey = (spatialShapes: SpatialShapes): string =>
  spatialShapes.map(([h, w]) => `${h}x${w}`).join(',');

/**
 * Reference points of the encoder: the centre of every cell of every level, normalised to [0, 1]
 * -> [1, S, L, 2] (x, y), the same point repeated for each level (no padding, so valid ratios are 1).
 */
export function encoderReferencePoints(spatialShapes: SpatialShapes, device = 'cpu'): Tensor {
  const s = spatialShapes.reduce((acc, [h, w]) => acc + h * w, 0);
  const l = spatialShapes.length;
  const data = new Float32Array(s * l * 2);
  let i = 0;
  for (const [h, w] of spatialShapes) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let lv = 0; lv < l; lv++) {
          data[(i * l + lv) * 2] = (x + 0.5) / w;
          data[(i * l + lv) * 2 + 1] = (y + 0.5) / h;
        }
        i++;
      }
    }
  }
  return torch.fromTypedArray(data, [1, s, l, 2], { device });
}
