// AdamW (Loshchilov & Hutter) with PyTorch's exact semantics: decoupled weight decay p *= 1 - lr*wd, bias
// corrections 1 - beta^t per parameter, eps added outside the square root. One native call per group
// (native/src/optim.cpp) updates every parameter in place.
import type { Json, ParamGroupState } from '../io/training-state.ts';
import type { Tensor } from '../tensor.ts';
import { checkNumber, NO, Optimizer, readBool, readNumber } from './optimizer.ts';
import type { ParamGroup, ParamGroupSpec, ParamState } from './optimizer.ts';

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** PyTorch's defaults (torch.optim.AdamW). */
export const ADAMW_DEFAULTS: AdamWOptions = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 1e-2,
  amsgrad: false,
  maximize: false,
};

export class AdamW extends Optimizer<AdamWOptions> {
  constructor(
    params: Iterable<Tensor> | ParamGroupSpec<AdamWOptions>[],
    options: Partial<AdamWOptions> = {},
  ) {
    super('AdamW', params, { ...ADAMW_DEFAULTS, ...options });
  }

  protected slotNames(g: ParamGroup<AdamWOptions>): string[] {
    return g.amsgrad ? ['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'] : ['exp_avg', 'exp_avg_sq'];
  }

  protected validate(g: ParamGroup<AdamWOptions>, i: number): void {
    checkNumber('AdamW', i, 'lr', g.lr);
    checkNumber('AdamW', i, 'eps', g.eps);
    checkNumber('AdamW', i, 'weightDecay', g.weightDecay);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) {
      throw new Error(`AdamW: group ${i}: betas must be [beta1, beta2], got ${JSON.stringify(g.betas)}`);
    }
    checkNumber('AdamW', i, 'betas[0]', g.betas[0], 0, 1 - Number.EPSILON);
    checkNumber('AdamW', i, 'betas[1]', g.betas[1], 0, 1 - Number.EPSILON);
  }

  protected stepGroup(g: ParamGroup<AdamWOptions>, states: (ParamState | undefined)[]): boolean[] {
    return NO.optimAdamwStep(
      g.params,
      states.map((s) => s?.slots.exp_avg ?? null),
      states.map((s) => s?.slots.exp_avg_sq ?? null),
      g.amsgrad ? states.map((s) => s?.slots.max_exp_avg_sq ?? null) : null,
      states.map((s) => s?.step ?? 0),
      g.lr,
      g.betas[0],
      g.betas[1],
      g.eps,
      g.weightDecay,
      g.amsgrad,
      g.maximize,
    );
  }

  protected hyperToJson(g: ParamGroup<AdamWOptions>): Record<string, Json> {
    return {
      lr: g.lr,
      initial_lr: g.initialLr,
      betas: [g.betas[0], g.betas[1]],
      eps: g.eps,
      weight_decay: g.weightDecay,
      amsgrad: g.amsgrad,
      maximize: g.maximize,
    };
  }

  protected hyperFromJson(g: ParamGroup<AdamWOptions>, j: ParamGroupState): void {
    g.lr = readNumber(j, 'lr', g.lr);
    g.initialLr = readNumber(j, 'initial_lr', g.initialLr);
    const b = j.betas;
    if (Array.isArray(b) && b.length === 2 && typeof b[0] === 'number' && typeof b[1] === 'number')
      g.betas = [b[0], b[1]];
    g.eps = readNumber(j, 'eps', g.eps);
    g.weightDecay = readNumber(j, 'weight_decay', g.weightDecay);
    g.amsgrad = readBool(j, 'amsgrad', g.amsgrad);
    g.maximize = readBool(j, 'maximize', g.maximize);
  }
}
