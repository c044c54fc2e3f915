// ResNet-18/34/50 with torchvision's module names (conv1, bn1, layer1.0.conv1, layer2.0.downsample.0/1, ...)
// so an ImageNet checkpoint from torchvision loads key for key. As in Mask2Former, batch norm is frozen
// (FrozenBatchNorm2d: fixed per-channel scale and shift from the checkpoint's statistics) and the stride of
// a bottleneck sits on its 3x3 conv (torchvision's layout, detectron2's STRIDE_IN_1X1 = False).
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import {
  BatchNorm2d,
  Conv2d,
  FrozenBatchNorm2d,
  Module,
  Sequential,
  type StateDict,
} from '../../engine/nn/index.ts';
import { loadPth } from '../../engine/io/checkpoint.ts';
import { Backbone, checkImages, type Features, type FeatureSpecs } from './types.ts';

export type NormKind = 'frozen' | 'batch';
type Norm = FrozenBatchNorm2d | BatchNorm2d;

const makeNorm = (kind: NormKind, c: number): Norm =>
  kind === 'frozen' ? new FrozenBatchNorm2d(c) : new BatchNorm2d(c);

interface Block extends Module {
  forward(x: Tensor): Tensor;
}

/** Two 3x3 convs (ResNet-18/34). */
class BasicBlock extends Module implements Block {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: Norm;
  readonly conv2: Conv2d;
  readonly bn2: Norm;
  readonly downsample: Sequential | null;

  constructor(inC: number, planes: number, stride: number, norm: NormKind) {
    super();
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(inC, planes, 3, { stride, padding: 1, bias: false }),
    );
    this.bn1 = this.registerModule('bn1', makeNorm(norm, planes));
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', makeNorm(norm, planes));
    this.downsample = needsDownsample(inC, planes, stride)
      ? this.registerModule('downsample', downsample(inC, planes, stride, norm))
      : null;
  }

  /** x [B, inC, H, W] -> [B, planes, H/stride, W/stride] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return y.add(identity).relu();
    });
  }
}

/** 1x1 -> 3x3 (strided) -> 1x1 with 4x expansion (ResNet-50). */
class Bottleneck extends Module implements Block {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: Norm;
  readonly conv2: Conv2d;
  readonly bn2: Norm;
  readonly conv3: Conv2d;
  readonly bn3: Norm;
  readonly downsample: Sequential | null;

  constructor(inC: number, planes: number, stride: number, norm: NormKind) {
    super();
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', new Conv2d(inC, planes, 1, { bias: false }));
    this.bn1 = this.registerModule('bn1', makeNorm(norm, planes));
    this.conv2 = this.registerModule(
      'conv2',
      new Conv2d(planes, planes, 3, { stride, padding: 1, bias: false }),
    );
    this.bn2 = this.registerModule('bn2', makeNorm(norm, planes));
    this.conv3 = this.registerModule('conv3', new Conv2d(planes, out, 1, { bias: false }));
    this.bn3 = this.registerModule('bn3', makeNorm(norm, out));
    this.downsample = needsDownsample(inC, out, stride)
      ? this.registerModule('downsample', downsample(inC, out, stride, norm))
      : null;
  }

  /** x [B, inC, H, W] -> [B, 4 * planes, H/stride, W/stride] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let y = this.bn1.forward(this.conv1.forward(x)).relu();
      y = this.bn2.forward(this.conv2.forward(y)).relu();
      y = this.bn3.forward(this.conv3.forward(y));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return y.add(identity).relu();
    });
  }
}

// The shortcut needs a projection when the block changes resolution or width.
const needsDownsample = (inC: number, outC: number, stride: number): boolean => stride !== 1 || inC !== outC;

// downsample.0 = 1x1 conv, downsample.1 = norm, as torchvision names them.
const downsample = (inC: number, outC: number, stride: number, norm: NormKind): Sequential =>
  new Sequential(new Conv2d(inC, outC, 1, { stride, bias: false }), makeNorm(norm, outC));

export type ResNetDepth = 18 | 34 | 50;
const LAYOUT: Record<ResNetDepth, { blocks: number[]; bottleneck: boolean }> = {
  18: { blocks: [2, 2, 2, 2], bottleneck: false },
  34: { blocks: [3, 4, 6, 3], bottleneck: false },
  50: { blocks: [3, 4, 6, 3], bottleneck: true },
};

export interface ResNetOptions {
  depth: ResNetDepth;
  /** Channels of the stem and of layer1's 3x3 convs; torchvision's 64. Smaller only for tests. */
  baseWidth?: number;
  /** 'frozen' (Mask2Former's FrozenBN, default) or trainable 'batch'. */
  norm?: NormKind;
  /**
   * detectron2's FREEZE_AT: 0 trains everything, 1 freezes the stem (conv1), 2 also layer1 (res2), ...
   * up to 5. Mask2Former's configs use 0.
   */
  freezeAt?: number;
}

export class ResNet extends Backbone {
  readonly outputShapes: FeatureSpecs;
  readonly conv1: Conv2d;
  readonly bn1: Norm;
  readonly layers: Sequential[];

  constructor(readonly options: ResNetOptions) {
    super();
    const layout = LAYOUT[options.depth];
    if (!layout) throw new Error(`ResNet: depth must be 18, 34 or 50, got ${options.depth}`);
    const base = options.baseWidth ?? 64;
    const norm = options.norm ?? 'frozen';
    const expansion = layout.bottleneck ? Bottleneck.expansion : BasicBlock.expansion;
    this.conv1 = this.registerModule('conv1', new Conv2d(3, base, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', makeNorm(norm, base));
    this.layers = [];
    let inC = base;
    const channels: number[] = [];
    layout.blocks.forEach((n, li) => {
      const planes = base * 2 ** li;
      const seq = new Sequential();
      for (let b = 0; b < n; b++) {
        const stride = b === 0 && li > 0 ? 2 : 1;
        seq.append(
          layout.bottleneck
            ? new Bottleneck(inC, planes, stride, norm)
            : new BasicBlock(inC, planes, stride, norm),
        );
        inC = planes * expansion;
      }
      this.layers.push(this.registerModule(`layer${li + 1}`, seq));
      channels.push(inC);
    });
    this.outputShapes = {
      res2: { channels: channels[0], stride: 4 },
      res3: { channels: channels[1], stride: 8 },
      res4: { channels: channels[2], stride: 16 },
      res5: { channels: channels[3], stride: 32 },
    };
    const freezeAt = options.freezeAt ?? 0;
    if (!Number.isInteger(freezeAt) || freezeAt < 0 || freezeAt > 5) {
      throw new Error(`ResNet: freezeAt must be an integer in 0..5, got ${freezeAt}`);
    }
    if (freezeAt >= 1) this.conv1.requiresGrad_(false);
    for (let i = 0; i < freezeAt - 1; i++) this.layers[i].requiresGrad_(false);
  }

  /** images [B, 3, H, W] -> res2 [B, C, H/4, W/4] ... res5 [B, 8C', H/32, W/32] (H, W multiples of 32) */
  forward(images: Tensor): Features {
    checkImages(images, 32, 'ResNet');
    return torch.tidy(() => {
      const stem = torch.maxPool2d(this.bn1.forward(this.conv1.forward(images)).relu(), 3, {
        stride: 2,
        padding: 1,
      });
      const res2 = this.layers[0].forward(stem);
      const res3 = this.layers[1].forward(res2);
      const res4 = this.layers[2].forward(res3);
      const res5 = this.layers[3].forward(res4);
      return { res2, res3, res4, res5 };
    });
  }
}

/**
 * Loads a torchvision ResNet state dict (e.g. resnet50 ImageNet weights read with loadPth) into the
 * backbone: the classifier (fc.*) is dropped, everything else must match strictly. BatchNorm's
 * num_batches_tracked counters are skipped by FrozenBatchNorm2d.
 */
export function loadTorchvisionResNet(backbone: ResNet, sd: StateDict, source = 'state dict'): void {
  const kept: StateDict = {};
  for (const [k, t] of Object.entries(sd)) if (!k.startsWith('fc.')) kept[k] = t;
  try {
    backbone.loadStateDict(kept);
  } catch (e) {
    throw new Error(
      `${source}: not a torchvision ResNet-${backbone.options.depth} checkpoint: ${(e as Error).message}`,
    );
  }
}

/** Reads a torchvision ResNet .pth (restricted unpickler) and loads it into the backbone (see above). */
export async function loadTorchvisionResNetFile(backbone: ResNet, path: string): Promise<void> {
  const sd = await loadPth(path);
  try {
    loadTorchvisionResNet(backbone, sd, path);
  } finally {
    torch.dispose(sd);
  }
}
