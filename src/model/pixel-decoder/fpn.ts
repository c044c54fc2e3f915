// An FPN pixel decoder for small configs (Mask2Former's BasePixelDecoder): res5 goes through a 3x3 conv;
// each finer level adds a lateral 1x1 conv of its backbone map to the nearest-upsampled coarser output,
// then a 3x3 conv; GroupNorm and ReLU after the 3x3 convs. The mask features are a 3x3 conv of the
// stride-4 output; the multi-scale outputs are the stride-32, 16 and 8 levels.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { Conv2d, ModuleList, init } from '../../engine/nn/index.ts';
import type { Features, FeatureSpecs } from '../backbone/types.ts';
import { ConvNorm } from '../conv-norm.ts';
import { sinePositionEncoding } from '../position-encoding.ts';
import { PixelDecoder, type PixelDecoderOutput } from './types.ts';

export interface FpnPixelDecoderOptions {
  inputShapes: FeatureSpecs;
  convDim: number;
  maskDim: number;
}

const COARSE_TO_FINE = ['res5', 'res4', 'res3', 'res2'] as const;

export class FpnPixelDecoder extends PixelDecoder {
  readonly convDim: number;
  readonly maskDim: number;
  /** lateral 1x1 convs of res4, res3, res2 (res5 has none) */
  readonly lateral: ModuleList<ConvNorm>;
  /** 3x3 output convs of res5, res4, res3, res2 */
  readonly output: ModuleList<ConvNorm>;
  readonly maskFeatures: Conv2d;

  constructor(o: FpnPixelDecoderOptions) {
    super();
    this.convDim = o.convDim;
    this.maskDim = o.maskDim;
    const d = o.convDim;
    this.lateral = this.registerModule(
      'lateral',
      new ModuleList(
        COARSE_TO_FINE.slice(1).map((n) => new ConvNorm(o.inputShapes[n].channels, d, 1, { norm: true })),
      ),
    );
    this.output = this.registerModule(
      'output',
      new ModuleList(
        COARSE_TO_FINE.map(
          (n, i) =>
            new ConvNorm(i === 0 ? o.inputShapes[n].channels : d, d, 3, {
              padding: 1,
              norm: true,
              relu: true,
            }),
        ),
      ),
    );
    this.maskFeatures = this.registerModule('mask_features', new Conv2d(d, o.maskDim, 3, { padding: 1 }));
    init.kaimingUniform_(this.maskFeatures.weight, 1);
    init.constant_(this.maskFeatures.bias!, 0);
  }

  /** res2..res5 -> maskFeatures [B, maskDim, H/4, W/4], multiScale [B, convDim, H/32|H/16|H/8, ...] */
  forward(features: Features): PixelDecoderOutput {
    return torch.tidy(() => {
      const outs: Tensor[] = [this.output.at(0).forward(features.res5)];
      for (let i = 1; i < COARSE_TO_FINE.length; i++) {
        const lat = this.lateral.at(i - 1).forward(features[COARSE_TO_FINE[i]]);
        const up = torch.interpolate(outs[i - 1], { size: [lat.shape[2], lat.shape[3]], mode: 'nearest' });
        outs.push(this.output.at(i).forward(lat.add(up)));
      }
      const multiScale = outs.slice(0, 3);
      return {
        maskFeatures: this.maskFeatures.forward(outs[3]),
        multiScale,
        multiScalePos: multiScale.map((x) => sinePositionEncoding(x, this.convDim / 2)),
      };
    });
  }
}
