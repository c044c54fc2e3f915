// MLP as in SAM's mask decoder and DETR's box head: numLayers Linear layers with an activation between
// them (not after the last), optionally a sigmoid on the output. Keys: layers.<i>.weight / .bias.
import { N } from '../../native.ts';
import { UN } from '../../ops/codes.ts';
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';
import { ModuleList } from './container.ts';
import { Linear, checkPositive } from './linear.ts';

export type Activation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'sigmoid' | 'tanh';

const ACT_CODE: Record<Activation, number> = {
  relu: UN.relu,
  gelu: UN.gelu,
  gelu_tanh: UN.geluTanh,
  silu: UN.silu,
  sigmoid: UN.sigmoid,
  tanh: UN.tanh,
};

/** Applies an activation by name (gelu is the exact erf form, as nn.GELU()). */
export function activate(x: Tensor, act: Activation): Tensor {
  const code = ACT_CODE[act];
  if (code === undefined)
    throw new Error(`unknown activation '${String(act)}' (expected ${Object.keys(ACT_CODE).join(', ')})`);
  return N.unary(x, code);
}

export interface MLPOptions {
  activation?: Activation;
  sigmoidOutput?: boolean;
}

export class MLP extends Module {
  readonly layers: ModuleList<Linear>;
  readonly activation: Activation;
  readonly sigmoidOutput: boolean;

  constructor(
    inputDim: number,
    hiddenDim: number,
    outputDim: number,
    numLayers: number,
    opts: MLPOptions = {},
  ) {
    super();
    checkPositive('MLP', { inputDim, hiddenDim, outputDim, numLayers });
    this.activation = opts.activation ?? 'relu';
    if (!(this.activation in ACT_CODE)) throw new Error(`MLP: unknown activation '${this.activation}'`);
    this.sigmoidOutput = opts.sigmoidOutput ?? false;
    const dims = [inputDim, ...Array<number>(numLayers - 1).fill(hiddenDim), outputDim];
    this.layers = this.registerModule(
      'layers',
      new ModuleList(dims.slice(0, -1).map((d, i) => new Linear(d, dims[i + 1]))),
    );
  }

  /** x: (*, inputDim) -> (*, outputDim) */
  forward(x: Tensor): Tensor {
    let y = x;
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      const z = this.layers.at(i).forward(y);
      if (y !== x) y.dispose();
      y = i < n - 1 ? activate(z, this.activation) : z;
      if (y !== z) z.dispose();
    }
    if (this.sigmoidOutput) {
      const s = N.unary(y, UN.sigmoid);
      y.dispose();
      y = s;
    }
    return y;
  }
}
