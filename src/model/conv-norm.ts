// A conv with an optional GroupNorm and ReLU, keyed as detectron2's Conv2d-with-norm (weight, bias,
// norm.weight, norm.bias) so Mask2Former's pixel-decoder layer names carry over (adapter_1, layer_1, ...).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { GroupNorm, Module, init } from '../engine/nn/index.ts';

/** The largest group count <= 32 that divides `channels` (32 for every width Mask2Former uses). */
export function groupsFor(channels: number): number {
  for (let g = Math.min(32, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

export interface ConvNormOptions {
  padding?: number;
  /** GroupNorm after the conv (then the conv has no bias, as detectron2 builds it). */
  norm?: boolean;
  relu?: boolean;
}

export class ConvNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly norm: GroupNorm | null;
  readonly padding: number;
  readonly relu: boolean;

  constructor(inC: number, outC: number, kernel: number, opts: ConvNormOptions = {}) {
    super();
    const norm = opts.norm ?? false;
    this.padding = opts.padding ?? 0;
    this.relu = opts.relu ?? false;
    // detectron2's c2_xavier_fill: kaiming_uniform(a=1), zero bias
    this.weight = this.registerParameter(
      'weight',
      init.kaimingUniform_(torch.empty([outC, inC, kernel, kernel]), 1),
    );
    this.bias = norm ? null : this.registerParameter('bias', torch.zeros([outC]));
    this.norm = norm ? this.registerModule('norm', new GroupNorm(groupsFor(outC), outC)) : null;
  }

  /** x [B, inC, H, W] -> [B, outC, H', W'] */
  forward(x: Tensor): Tensor {
    return torch.tidy(() => {
      let y = torch.conv2d(x, this.weight, this.bias, { padding: this.padding });
      if (this.norm) y = this.norm.forward(y);
      return this.relu ? y.relu() : y;
    });
  }
}
