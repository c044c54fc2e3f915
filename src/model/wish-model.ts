// The WISH student (paper Fig. 2): Mask2Former (backbone -> pixel decoder -> masked-attention decoder with
// class and mask heads) plus the prompt head (Eq. 10) on the query features and the CAM head (Eq. 16-17) on
// the backbone's last map. The parts are built elsewhere (build.ts) and passed in.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { Module } from '../engine/nn/index.ts';
import type { Backbone, FeatureName } from './backbone/types.ts';
import { CamHead } from './heads/cam-head.ts';
import type { PixelDecoder } from './pixel-decoder/types.ts';
import type { LayerPrediction, MaskedTransformerDecoder } from './transformer-decoder.ts';

export interface WishOutput extends LayerPrediction {
  /** predictions of the earlier decoder stages (before layer 1, after layers 1 .. L-1) */
  aux: LayerPrediction[];
  /** [B, C, H/32, W/32] (the stride of camLevel) */
  camMaps: Tensor;
  /** [B, C] */
  camLogits: Tensor;
}

export class WishModel extends Module {
  readonly backbone: Backbone;
  readonly pixelDecoder: PixelDecoder;
  readonly predictor: MaskedTransformerDecoder;
  readonly camHead: CamHead;
  /** the backbone map under the CAM head (res5 in the paper) */
  readonly camLevel: FeatureName;

  constructor(parts: {
    backbone: Backbone;
    pixelDecoder: PixelDecoder;
    predictor: MaskedTransformerDecoder;
    camHead: CamHead;
    camLevel?: FeatureName;
  }) {
    super();
    this.camLevel = parts.camLevel ?? 'res5';
    this.backbone = this.registerModule('backbone', parts.backbone);
    this.pixelDecoder = this.registerModule('pixel_decoder', parts.pixelDecoder);
    this.predictor = this.registerModule('predictor', parts.predictor);
    this.camHead = this.registerModule('cam_head', parts.camHead);
  }

  get numClasses(): number {
    return this.predictor.options.numClasses;
  }
  get numQueries(): number {
    return this.predictor.options.numQueries;
  }

  /**
   * images [B, 3, H, W] (normalised, H and W multiples of 32) ->
   *   predLogits [B, Q, C+1], predMasks [B, Q, H/4, W/4], predPrompts {point, box} [B, Q, 2, Dp],
   *   aux (same, per earlier stage), camMaps [B, C, H/32, W/32] (res5; H/16 for res4), camLogits [B, C]
   */
  forward(images: Tensor): WishOutput {
    return torch.tidy(() => {
      const features = this.backbone.forward(images);
      const { camMaps, camLogits } = this.camHead.forward(features[this.camLevel]);
      const pix = this.pixelDecoder.forward(features);
      const preds = this.predictor.forward(pix.multiScale, pix.maskFeatures);
      const last = preds[preds.length - 1];
      return { ...last, aux: preds.slice(0, -1), camMaps, camLogits };
    });
  }

  /** Trainable backbone parameters (Mask2Former trains them at 0.1x the learning rate) and the rest. */
  parameterGroups(): { backbone: Tensor[]; rest: Tensor[] } {
    const inBackbone = new Set(this.backbone.parameters());
    const trainable = this.parameters().filter((p) => p.requiresGrad);
    return {
      backbone: trainable.filter((p) => inBackbone.has(p)),
      rest: trainable.filter((p) => !inBackbone.has(p)),
    };
  }
}
