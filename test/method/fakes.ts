// Test doubles for src/method: mask targets with a constant value per (target, level), so costs and
// losses can be worked out by hand whatever points are sampled.
import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import type { MaskTargets } from '../../src/method/index.ts';

export class ConstantMaskTargets implements MaskTargets {
  readonly count: number;
  readonly levels: number;
  /** values[t][l]: the target's value at every point. */
  constructor(readonly values: number[][]) {
    this.count = values.length;
    this.levels = values[0]?.length ?? 1;
  }
  sampleAll(coords: Tensor): Tensor {
    const P = coords.shape[1];
    return torch.tensor(this.values).unsqueeze(2).expand(this.count, this.levels, P).contiguous();
  }
  samplePairs(targetIdx: number[], levels: number[], coords: Tensor): Tensor {
    const P = coords.shape[1];
    const v = targetIdx.map((t, i) => this.values[t][levels[i]]);
    return torch.tensor(v).unsqueeze(1).expand(v.length, P).contiguous();
  }
}

/** Logits whose softmax is exactly `probs` (rows sum to 1). */
export const logitsOf = (probs: number[][]): Tensor => torch.tensor(probs).log();
