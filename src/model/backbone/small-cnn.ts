// A small CNN backbone for CPU configs: a stride-4 stem, then one stage per scale, each stage a strided
// 3x3 conv-BN-ReLU followed by `depth - 1` unstrided ones. Trained from scratch, so its batch norm is
// ordinary (trainable, running statistics), unlike the ResNet's frozen one.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { BatchNorm2d, Conv2d, Module, Sequential } from '../../engine/nn/index.ts';
import { Backbone, checkImages, type Features, type FeatureSpecs } from './types.ts';

/** conv3x3 -> BN -> ReLU. Keys: conv.weight, bn.* */
class ConvBnRelu extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor(inC: number, outC: number, stride: number) {
    super();
    this.conv = this.registerModule('conv', new Conv2d(inC, outC, 3, { stride, padding: 1, bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(outC));
  }
  /** x [B, inC, H, W] -> [B, outC, H/stride, W/stride] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => this.bn.forward(this.conv.forward(x)).relu());
  }
}

export interface SmallCnnOptions {
  /** Output channels of res2..res5 (4 numbers). */
  widths: [number, number, number, number];
  /** Stem channels (two stride-2 convs); default widths[0] / 2. */
  stemWidth?: number;
  /** Convs per stage (the first strided); default 2. */
  depth?: number;
}

export class SmallCnn extends Backbone {
  readonly outputShapes: FeatureSpecs;
  readonly stem: Sequential;
  readonly stages: Sequential[];

  constructor(readonly options: SmallCnnOptions) {
    super();
    const w = options.widths;
    if (w.length !== 4 || w.some((c) => !Number.isInteger(c) || c <= 0)) {
      throw new Error(`SmallCnn: widths must be 4 positive integers, got [${w.join(', ')}]`);
    }
    const stemW = options.stemWidth ?? Math.max(8, Math.floor(w[0] / 2));
    const depth = options.depth ?? 2;
    if (!Number.isInteger(depth) || depth < 1) throw new Error(`SmallCnn: depth must be >= 1, got ${depth}`);
    // stride 2 then stride 2: res2 (stride 4) comes out of stage 0 unstrided
    this.stem = this.registerModule(
      'stem',
      new Sequential(new ConvBnRelu(3, stemW, 2), new ConvBnRelu(stemW, stemW, 2)),
    );
    this.stages = [];
    let inC = stemW;
    w.forEach((c, i) => {
      const seq = new Sequential(new ConvBnRelu(inC, c, i === 0 ? 1 : 2));
      for (let d = 1; d < depth; d++) seq.append(new ConvBnRelu(c, c, 1));
      this.stages.push(this.registerModule(`stage${i + 2}`, seq));
      inC = c;
    });
    this.outputShapes = {
      res2: { channels: w[0], stride: 4 },
      res3: { channels: w[1], stride: 8 },
      res4: { channels: w[2], stride: 16 },
      res5: { channels: w[3], stride: 32 },
    };
  }

  /** images [B, 3, H, W] -> res2 [B, w0, H/4, W/4], res3 [B, w1, H/8, W/8], res4 [.., H/16], res5 [.., H/32] */
  forward(images: Tensor): Features {
    checkImages(images, 32, 'SmallCnn');
    return torch.tidy(() => {
      const res2 = this.stages[0].forward(this.stem.forward(images));
      const res3 = this.stages[1].forward(res2);
      const res4 = this.stages[2].forward(res3);
      const res5 = this.stages[3].forward(res4);
      return { res2, res3, res4, res5 };
    });
  }
}
