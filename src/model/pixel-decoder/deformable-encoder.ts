// The deformable transformer encoder of Mask2Former's pixel decoder (MSDeformAttnTransformerEncoderOnly):
// every position of every level attends to sampled points of all levels; post-norm layers
// (attention -> add & norm -> FFN -> add & norm). Dropout is left out: Mask2Former trains it with 0.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { LayerNorm, Linear, Module, ModuleList, init } from '../../engine/nn/index.ts';
import { deviceConstant } from '../device-constants.ts';
import { MSDeformAttn, encoderReferencePoints, shapesKey, type SpatialShapes } from './ms-deform-attn.ts';

export interface DeformableEncoderOptions {
  dModel: number;
  nHeads: number;
  nLevels: number;
  nPoints: number;
  dimFeedforward: number;
  numLayers: number;
}

/** Keys: self_attn, norm1, linear1, linear2, norm2 (Mask2Former's MSDeformAttnTransformerEncoderLayer). */
export class DeformableEncoderLayer extends Module {
  readonly selfAttn: MSDeformAttn;
  readonly norm1: LayerNorm;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm2: LayerNorm;

  constructor(o: DeformableEncoderOptions) {
    super();
    this.selfAttn = this.registerModule(
      'self_attn',
      new MSDeformAttn({ dModel: o.dModel, nLevels: o.nLevels, nHeads: o.nHeads, nPoints: o.nPoints }),
    );
    this.norm1 = this.registerModule('norm1', new LayerNorm(o.dModel));
    this.linear1 = this.registerModule('linear1', new Linear(o.dModel, o.dimFeedforward));
    this.linear2 = this.registerModule('linear2', new Linear(o.dimFeedforward, o.dModel));
    this.norm2 = this.registerModule('norm2', new LayerNorm(o.dModel));
    // the reference transformer xavier-initialises every matrix outside the attention's own init
    init.xavierUniform_(this.linear1.weight);
    init.xavierUniform_(this.linear2.weight);
  }

  /** src [N, S, C], pos [N, S, C], referencePoints [1, S, L, 2] -> [N, S, C] */
  forward(src: Tensor, pos: Tensor, referencePoints: Tensor, spatialShapes: SpatialShapes): Tensor {
    return torch.tidy(() => {
      const attn = this.selfAttn.forward(src.add(pos), referencePoints, src, spatialShapes);
      const x = this.norm1.forward(src.add(attn));
      const ffn = this.linear2.forward(this.linear1.forward(x).relu());
      return this.norm2.forward(x.add(ffn));
    });
  }
}

/** Keys: level_embed [L, C], encoder.layers.<i>.* (as MSDeformAttnTransformerEncoderOnly). */
export class DeformableEncoder extends Module {
  readonly levelEmbed: Tensor;
  readonly layers: ModuleList<DeformableEncoderLayer>;
  private readonly encoder: Module;

  constructor(readonly options: DeformableEncoderOptions) {
    super();
    this.levelEmbed = this.registerParameter('level_embed', torch.randn([options.nLevels, options.dModel]));
    this.encoder = this.registerModule('encoder', new EncoderStack(options));
    this.layers = (this.encoder as EncoderStack).layers;
  }

  /**
   * srcs and pos: L maps [N, C, H_l, W_l] each (in level order) -> one [N, C, H_l, W_l] per level
   */
  forward(srcs: Tensor[], pos: Tensor[]): Tensor[] {
    const shapes: SpatialShapes = srcs.map((s) => [s.shape[2], s.shape[3]]);
    if (srcs.length !== this.options.nLevels) {
      throw new Error(`DeformableEncoder: built for ${this.options.nLevels} levels, got ${srcs.length}`);
    }
    return torch.tidy(() => {
      const n = srcs[0].shape[0];
      const c = this.options.dModel;
      // [N, C, H, W] -> [N, HW, C], levels concatenated
      let x = torch.cat(
        srcs.map((s) => s.flatten(2).transpose(1, 2)),
        1,
      );
      const p = torch.cat(
        pos.map((q, l) =>
          q
            .flatten(2)
            .transpose(1, 2)
            .add(this.levelEmbed.select(0, l).view(1, 1, c)),
        ),
        1,
      );
      const ref = deviceConstant(`encoder-reference-points/${shapesKey(shapes)}`, x.device, (device) =>
        encoderReferencePoints(shapes, device),
      );
      for (const layer of this.layers) x = layer.forward(x, p, ref, shapes);
      const parts = x.split(
        shapes.map(([h, w]) => h * w),
        1,
      );
      return parts.map((part, l) => part.transpose(1, 2).reshape(n, c, shapes[l][0], shapes[l][1]));
    });
  }
}

/** Holds the layers under `layers.<i>` so the keys read encoder.layers.<i>. */
class EncoderStack extends Module {
  readonly layers: ModuleList<DeformableEncoderLayer>;
  constructor(o: DeformableEncoderOptions) {
    super();
    this.layers = this.registerModule(
      'layers',
      new ModuleList(Array.from({ length: o.numLayers }, () => new DeformableEncoderLayer(o))),
    );
  }
}
