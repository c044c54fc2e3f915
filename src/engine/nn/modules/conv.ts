// Conv2d and ConvTranspose2d with PyTorch's arguments, key names and initialisation.
import { empty } from '../../creation.ts';
import { N } from '../../native.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';
import { initLinearLike } from './init.ts';
import { checkPositive } from './linear.ts';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding per side, or 'same' / 'valid'. */
  padding?: Pair | 'same' | 'valid';
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** 2-D convolution. Keys: weight (out, in/groups, kh, kw), bias (out). */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = typeof opts.padding === 'string' ? opts.padding : pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    checkPositive('Conv2d', { inChannels, outChannels, groups: this.groups });
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(
        `Conv2d: channels (${inChannels} in, ${outChannels} out) must be divisible by groups ${this.groups}`,
      );
    }
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter('weight', empty([outChannels, inChannels / this.groups, kh, kw]));
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', empty([outChannels])) : null;
    initLinearLike(this.weight, this.bias);
  }

  /** x: (B, in, H, W) -> (B, out, H', W') */
  forward(x: Tensor): Tensor {
    return N.conv2d(x, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
  }
}

export interface ConvTranspose2dOptions {
  stride?: Pair;
  padding?: Pair;
  outputPadding?: Pair;
  groups?: number;
  bias?: boolean;
  dilation?: Pair;
}

/** Transposed 2-D convolution. Keys: weight (in, out/groups, kh, kw), bias (out). */
export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    opts: ConvTranspose2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? 1);
    this.padding = pair(opts.padding ?? 0);
    this.outputPadding = pair(opts.outputPadding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
    this.groups = opts.groups ?? 1;
    checkPositive('ConvTranspose2d', { inChannels, outChannels, groups: this.groups });
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new Error(
        `ConvTranspose2d: channels (${inChannels} in, ${outChannels} out) must be divisible by groups ${this.groups}`,
      );
    }
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter('weight', empty([inChannels, outChannels / this.groups, kh, kw]));
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', empty([outChannels])) : null;
    initLinearLike(this.weight, this.bias);
  }

  /** x: (B, in, H, W) -> (B, out, (H-1)*s - 2p + d*(k-1) + outputPadding + 1, ...) */
  forward(x: Tensor): Tensor {
    return N.convTranspose2d(
      x,
      this.weight,
      this.bias,
      this.stride,
      this.padding,
      this.outputPadding,
      this.groups,
      this.dilation,
    );
  }
}
