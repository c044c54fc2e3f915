// H_cam of Eq. 16-17: a 1x1 conv (no bias, the classic CAM classifier) on the backbone's last feature map
// gives one activation map per class; their global average is the image-level logit that L_cam trains
// with multi-label BCE. Keys: conv.weight
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { Conv2d, Module } from '../../engine/nn/index.ts';

export interface CamOutput {
  /** A of Eq. 16: [B, C, h, w] */
  camMaps: Tensor;
  /** GAP(A): [B, C] */
  camLogits: Tensor;
}

export class CamHead extends Module {
  readonly conv: Conv2d;
  constructor(inChannels: number, numClasses: number) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inChannels, numClasses, 1, { bias: false }));
  }
  /** features [B, Cin, h, w] -> camMaps [B, C, h, w], camLogits [B, C] */
  forward(features: Tensor): CamOutput {
    return torch.tidy(() => {
      const camMaps = this.conv.forward(features);
      return { camMaps, camLogits: camMaps.mean([2, 3]) };
    });
  }
}
