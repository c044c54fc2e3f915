// Mask2Former's MSDeformAttnPixelDecoder: res3..res5 are projected to convDim (1x1 conv + GroupNorm),
// refined together by the deformable encoder (6 layers in paper configs), then an FPN step adds the
// stride-4 map: lateral 1x1 on res2 + bilinear upsampling of the stride-8 output, 3x3 conv; a 1x1 conv
// gives the mask features. Keys follow Mask2Former: input_proj.<i>.0/1, transformer.*, adapter_1,
// layer_1, mask_features.
import * as torch from '../../engine/index.ts';
import { Conv2d, GroupNorm, ModuleList, Sequential, init } from '../../engine/nn/index.ts';
import type { Features, FeatureSpecs } from '../backbone/types.ts';
import { ConvNorm, groupsFor } from '../conv-norm.ts';
import { sinePositionEncoding } from '../position-encoding.ts';
import { DeformableEncoder } from './deformable-encoder.ts';
import { PixelDecoder, type PixelDecoderOutput } from './types.ts';

export interface MSDeformPixelDecoderOptions {
  inputShapes: FeatureSpecs;
  /** Width of the encoder and of the multi-scale outputs (256). */
  convDim: number;
  /** Width of the mask features (256). */
  maskDim: number;
  /** Encoder layers (6), heads (8), FFN width (1024), sampling points (4). */
  encoderLayers: number;
  heads: number;
  dimFeedforward: number;
  points: number;
}

export class MSDeformPixelDecoder extends PixelDecoder {
  readonly convDim: number;
  readonly maskDim: number;
  readonly inputProj: ModuleList<Sequential>;
  readonly transformer: DeformableEncoder;
  readonly adapter: ConvNorm;
  readonly layer: ConvNorm;
  readonly maskFeatures: Conv2d;

  constructor(o: MSDeformPixelDecoderOptions) {
    super();
    this.convDim = o.convDim;
    this.maskDim = o.maskDim;
    const d = o.convDim;
    // index 0 is res5: the encoder's levels run from low to high resolution
    this.inputProj = this.registerModule(
      'input_proj',
      new ModuleList(
        (['res5', 'res4', 'res3'] as const).map((name) => {
          const conv = new Conv2d(o.inputShapes[name].channels, d, 1);
          init.xavierUniform_(conv.weight);
          init.constant_(conv.bias!, 0);
          return new Sequential(conv, new GroupNorm(groupsFor(d), d));
        }),
      ),
    );
    this.transformer = this.registerModule(
      'transformer',
      new DeformableEncoder({
        dModel: d,
        nHeads: o.heads,
        nLevels: 3,
        nPoints: o.points,
        dimFeedforward: o.dimFeedforward,
        numLayers: o.encoderLayers,
      }),
    );
    this.adapter = this.registerModule(
      'adapter_1',
      new ConvNorm(o.inputShapes.res2.channels, d, 1, { norm: true }),
    );
    this.layer = this.registerModule(
      'layer_1',
      new ConvNorm(d, d, 3, { padding: 1, norm: true, relu: true }),
    );
    this.maskFeatures = this.registerModule('mask_features', new Conv2d(d, o.maskDim, 1));
    init.kaimingUniform_(this.maskFeatures.weight, 1);
    init.constant_(this.maskFeatures.bias!, 0);
  }

  /**
   * res2 [B, C2, H/4, W/4] .. res5 [B, C5, H/32, W/32] ->
   *   maskFeatures [B, maskDim, H/4, W/4], multiScale [B, convDim, H/32|H/16|H/8, ...]
   */
  forward(features: Features): PixelDecoderOutput {
    return torch.tidy(() => {
      const ins = [features.res5, features.res4, features.res3];
      const srcs = ins.map((x, i) => this.inputProj.at(i).forward(x));
      const pos = srcs.map((x) => sinePositionEncoding(x, this.convDim / 2));
      const multiScale = this.transformer.forward(srcs, pos);
      const lateral = this.adapter.forward(features.res2);
      const up = torch.interpolate(multiScale[2], {
        size: [lateral.shape[2], lateral.shape[3]],
        mode: 'bilinear',
        alignCorners: false,
      });
      const fine = this.layer.forward(lateral.add(up));
      return { maskFeatures: this.maskFeatures.forward(fine), multiScale, multiScalePos: pos };
    });
  }
}
