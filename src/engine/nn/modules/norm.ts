// Normalisation layers: BatchNorm2d (running statistics), FrozenBatchNorm2d (detectron2's: statistics and
// affine as buffers, a fixed per-channel scale and shift), LayerNorm, LayerNorm2d (SAM's: over channels
// at every pixel) and GroupNorm.
import { noGrad } from '../../autograd.ts';
import { ones, zeros } from '../../creation.ts';
import { N } from '../../native.ts';
import { BIN } from '../../ops/codes.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';
import { checkPositive } from './linear.ts';

export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running averages; null = cumulative average (1 / batches seen). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/** Keys: weight, bias, running_mean, running_var, num_batches_tracked (int64, as PyTorch). */
export class BatchNorm2d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    checkPositive('BatchNorm2d', { numFeatures });
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures])) : null;
    if (opts.trackRunningStats ?? true) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  // Older checkpoints (and detectron2's converted ones) have no batch counter; PyTorch accepts that too.
  protected override optionalStateKeys(): string[] {
    return ['num_batches_tracked'];
  }

  /** x: (B, C, H, W) -> same shape. Train mode normalises with batch statistics and updates the running ones. */
  forward(x: Tensor): Tensor {
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked) {
      noGrad(() => N.binary_(this.numBatchesTracked!, 1, BIN.add));
      if (this.momentum === null) factor = 1 / N.item(this.numBatchesTracked);
    }
    const useBatchStats = this.training || this.runningMean === null;
    return N.batchNorm(
      x,
      this.runningMean,
      this.runningVar,
      this.weight,
      this.bias,
      useBatchStats,
      factor,
      this.eps,
    );
  }
}

/** detectron2's FrozenBatchNorm2d: y = x * scale + shift from fixed buffers weight, bias, running_mean,
 * running_var (no parameters, same in train and eval). */
export class FrozenBatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(
    readonly numFeatures: number,
    readonly eps = 1e-5,
  ) {
    super();
    checkPositive('FrozenBatchNorm2d', { numFeatures });
    this.weight = this.registerBuffer('weight', ones([numFeatures]));
    this.bias = this.registerBuffer('bias', zeros([numFeatures]));
    this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', N.binary(ones([numFeatures]), eps, BIN.sub));
  }

  // A checkpoint of a trainable BatchNorm2d carries a batch counter this layer has no use for.
  protected override ignoredStateKeys(): string[] {
    return ['num_batches_tracked'];
  }

  /** x: (B, C, H, W) -> same shape. */
  forward(x: Tensor): Tensor {
    const scale = this.weight.mul(this.runningVar.add(this.eps).rsqrt());
    const shift = this.bias.sub(this.runningMean.mul(scale));
    const c = this.numFeatures;
    const y = x.mul(scale.view(1, c, 1, 1)).add(shift.view(1, c, 1, 1));
    for (const t of [scale, shift]) t.dispose();
    return y;
  }
}

export interface LayerNormOptions {
  eps?: number;
  elementwiseAffine?: boolean;
  bias?: boolean;
}

/** Normalises over the last dims given by normalizedShape. Keys: weight, bias. */
export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(normalizedShape: number | number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    for (const d of this.normalizedShape) checkPositive('LayerNorm', { normalizedShape: d });
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones(this.normalizedShape)) : null;
    this.bias =
      affine && (opts.bias ?? true) ? this.registerParameter('bias', zeros(this.normalizedShape)) : null;
  }

  /** x: (*, ...normalizedShape) -> same shape. */
  forward(x: Tensor): Tensor {
    return N.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

/** SAM's LayerNorm2d: for (B, C, H, W), normalises the C values at each pixel. Keys: weight, bias (C). */
export class LayerNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    readonly numChannels: number,
    readonly eps = 1e-6,
  ) {
    super();
    checkPositive('LayerNorm2d', { numChannels });
    this.weight = this.registerParameter('weight', ones([numChannels]));
    this.bias = this.registerParameter('bias', zeros([numChannels]));
  }

  /** x: (B, C, H, W) -> same shape (channels-last strides inside; same values as SAM's formula). */
  forward(x: Tensor): Tensor {
    const nhwc = N.permute(x, [0, 2, 3, 1]);
    const y = N.layerNorm(nhwc, [this.numChannels], this.weight, this.bias, this.eps);
    const out = N.permute(y, [0, 3, 1, 2]);
    nhwc.dispose();
    y.dispose();
    return out;
  }
}

export interface GroupNormOptions {
  eps?: number;
  affine?: boolean;
}

/** Normalises each group of numChannels / numGroups channels. Keys: weight, bias (C). */
export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    opts: GroupNormOptions = {},
  ) {
    super();
    checkPositive('GroupNorm', { numGroups, numChannels });
    if (numChannels % numGroups !== 0) {
      throw new Error(`GroupNorm: numChannels ${numChannels} is not divisible by numGroups ${numGroups}`);
    }
    this.eps = opts.eps ?? 1e-5;
    const affine = opts.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', ones([numChannels])) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numChannels])) : null;
  }

  /** x: (B, C, *) -> same shape. */
  forward(x: Tensor): Tensor {
    return N.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}
