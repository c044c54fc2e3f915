// Linear and Identity.
import { empty } from '../../creation.ts';
import { N } from '../../native.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';
import { initLinearLike } from './init.ts';

export interface LinearOptions {
  bias?: boolean;
}

/** y = x W^T + b. Keys: weight (out, in), bias (out). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    checkPositive('Linear', { inFeatures, outFeatures });
    this.weight = this.registerParameter('weight', empty([outFeatures, inFeatures]));
    this.bias = (opts.bias ?? true) ? this.registerParameter('bias', empty([outFeatures])) : null;
    initLinearLike(this.weight, this.bias);
  }

  /** x: (*, in) -> (*, out) */
  forward(x: Tensor): Tensor {
    return N.linear(x, this.weight, this.bias);
  }
}

/** Returns its input (a placeholder where a model takes an optional layer). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export function checkPositive(what: string, values: Record<string, number>): void {
  for (const [k, v] of Object.entries(values)) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`${what}: ${k} must be a positive integer, got ${v}`);
  }
}
