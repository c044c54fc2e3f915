// Embedding: a lookup table of row vectors.
import { noGrad } from '../../autograd.ts';
import { empty } from '../../creation.ts';
import { N } from '../../native.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';
import { normal_ } from './init.ts';
import { checkPositive } from './linear.ts';

export interface EmbeddingOptions {
  /** Row that stays zero and gets no gradient (e.g. a padding token). Negative counts from the end. */
  paddingIdx?: number;
}

/** Keys: weight (num, dim), initialised N(0, 1) as PyTorch. */
export class Embedding extends Module {
  readonly weight: Tensor;
  readonly paddingIdx: number | null;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    checkPositive('Embedding', { numEmbeddings, embeddingDim });
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) {
        throw new Error(`Embedding: paddingIdx ${pad} is outside [-${numEmbeddings}, ${numEmbeddings})`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.weight = this.registerParameter('weight', normal_(empty([numEmbeddings, embeddingDim])));
    if (pad !== null) noGrad(() => N.zero_(this.weight.select(0, pad)));
  }

  /** idx: integer tensor of any shape (*) -> (*, dim) */
  forward(idx: Tensor): Tensor {
    return N.embedding(this.weight, idx, this.paddingIdx ?? -1);
  }
}
