// SGD with momentum, dampening, Nesterov and (coupled, L2) weight decay, as torch.optim.SGD: the momentum
// buffer starts as the first gradient, then buf = momentum * buf + (1 - dampening) * d_p.
import type { Json, ParamGroupState } from '../io/training-state.ts';
import type { Tensor } from '../tensor.ts';
import { checkNumber, NO, Optimizer, readBool, readNumber } from './optimizer.ts';
import type { ParamGroup, ParamGroupSpec, ParamState } from './optimizer.ts';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

/** PyTorch's defaults, except that lr (required there) defaults to 0.01. */
export const SGD_DEFAULTS: SGDOptions = {
  lr: 0.01,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
};

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Iterable<Tensor> | ParamGroupSpec<SGDOptions>[], options: Partial<SGDOptions> = {}) {
    super('SGD', params, { ...SGD_DEFAULTS, ...options });
  }

  protected slotNames(g: ParamGroup<SGDOptions>): string[] {
    return g.momentum !== 0 ? ['momentum_buffer'] : [];
  }

  protected validate(g: ParamGroup<SGDOptions>, i: number): void {
    checkNumber('SGD', i, 'lr', g.lr);
    checkNumber('SGD', i, 'momentum', g.momentum);
    checkNumber('SGD', i, 'dampening', g.dampening);
    checkNumber('SGD', i, 'weightDecay', g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) {
      throw new Error(`SGD: group ${i}: nesterov needs momentum > 0 and dampening 0`);
    }
  }

  protected stepGroup(g: ParamGroup<SGDOptions>, states: (ParamState | undefined)[]): boolean[] {
    const momentum = g.momentum !== 0;
    return NO.optimSgdStep(
      g.params,
      momentum ? states.map((s) => s?.slots.momentum_buffer ?? null) : null,
      // A buffer that has never been updated is PyTorch's "None": the native step copies d_p into it.
      states.map((s) => (s?.step ?? 0) > 0),
      g.lr,
      g.momentum,
      g.dampening,
      g.weightDecay,
      g.nesterov,
      g.maximize,
    );
  }

  protected hyperToJson(g: ParamGroup<SGDOptions>): Record<string, Json> {
    return {
      lr: g.lr,
      initial_lr: g.initialLr,
      momentum: g.momentum,
      dampening: g.dampening,
      weight_decay: g.weightDecay,
      nesterov: g.nesterov,
      maximize: g.maximize,
    };
  }

  protected hyperFromJson(g: ParamGroup<SGDOptions>, j: ParamGroupState): void {
    g.lr = readNumber(j, 'lr', g.lr);
    g.initialLr = readNumber(j, 'initial_lr', g.initialLr);
    g.momentum = readNumber(j, 'momentum', g.momentum);
    g.dampening = readNumber(j, 'dampening', g.dampening);
    g.weightDecay = readNumber(j, 'weight_decay', g.weightDecay);
    g.nesterov = readBool(j, 'nesterov', g.nesterov);
    g.maximize = readBool(j, 'maximize', g.maximize);
  }
}
