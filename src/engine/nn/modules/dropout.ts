// Dropout: zeroes elements with probability p in train mode and scales the rest by 1 / (1 - p).
import { N } from '../../native.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }

  /** x: any shape -> same shape (identity in eval mode or with p = 0). */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return N.dropout(x, this.p, true);
  }
}
