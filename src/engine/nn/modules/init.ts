// Weight initialisers with PyTorch's formulas (torch.nn.init), filling tensors in place from the global
// generator (seed it with manualSeed for reproducible models). Like torch.nn.init they run without
// recording gradients, so they work on parameters.
import { noGrad } from '../../autograd.ts';
import { N } from '../../native.ts';
import type { Tensor } from '../../tensor.ts';

/** fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (torch's convention, also for
 * transposed convolutions, whose weight is (in, out/groups, kh, kw)). */
export function calculateFans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = N.shape(t);
  if (s.length < 2)
    throw new Error(`init: fan in/out need a tensor with >= 2 dims, got shape [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

export function uniform_(t: Tensor, from: number, to: number): Tensor {
  noGrad(() => N.uniform_(t, from, to));
  return t;
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  noGrad(() => N.normal_(t, mean, std));
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => N.fill_(t, value));
  return t;
}

/** kaiming_uniform_ with leaky_relu gain: bound = sqrt(2 / (1 + a^2)) * sqrt(3 / fan_in). */
export function kaimingUniform_(t: Tensor, a = 0): Tensor {
  const { fanIn } = calculateFans(t);
  const gain = Math.sqrt(2 / (1 + a * a));
  const bound = gain * Math.sqrt(3 / fanIn);
  return uniform_(t, -bound, bound);
}

/** xavier_uniform_: bound = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const { fanIn, fanOut } = calculateFans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

/** nn.Linear / nn.ConvNd's reset_parameters: weight kaiming_uniform(a=sqrt(5)), bias U(-1/sqrt(fan_in), ..). */
export function initLinearLike(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, Math.sqrt(5));
  if (bias) {
    const { fanIn } = calculateFans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
