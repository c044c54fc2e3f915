// Autograd helpers beyond Tensor.backward / .grad: grad-mode scopes, zeroing and clipping gradients.
import { N } from './native.ts';
import type { Tensor } from './tensor.ts';

/** Runs fn with gradient recording off (torch.no_grad()). Synchronous fns only. */
export function noGrad<R>(fn: () => R): R {
  const prev = N.setGradEnabled(false);
  try {
    return fn();
  } finally {
    N.setGradEnabled(prev);
  }
}
/** Runs fn with gradient recording on (torch.enable_grad()). */
export function enableGrad<R>(fn: () => R): R {
  const prev = N.setGradEnabled(true);
  try {
    return fn();
  } finally {
    N.setGradEnabled(prev);
  }
}
export const isGradEnabled = (): boolean => N.isGradEnabled();
export const setGradEnabled = (flag: boolean): boolean => N.setGradEnabled(flag);

/** Clears the gradients of `params` (set to null by default, or zero-filled when setToNone is false). */
export const zeroGrad = (params: Tensor[], setToNone = true): void => N.zeroGrad(params, setToNone);

/**
 * Scales the gradients of `params` in place so their global `normType`-norm is at most maxNorm
 * (torch.nn.utils.clip_grad_norm_). Returns the total norm before clipping (0-d tensor).
 */
export function clipGradNorm(params: Tensor[], maxNorm: number, normType = 2): Tensor {
  if (!(maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  return N.clipGradNorm(params, maxNorm, normType);
}

/** d(outputs)/d(inputs) without touching .grad (torch.autograd.grad). Unused inputs give null when allowUnused. */
export function grad(
  outputs: Tensor | Tensor[],
  inputs: Tensor | Tensor[],
  opts: {
    gradOutputs?: (Tensor | null)[];
    retainGraph?: boolean;
    createGraph?: boolean;
    allowUnused?: boolean;
  } = {},
): (Tensor | null)[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  const ins = Array.isArray(inputs) ? inputs : [inputs];
  const create = opts.createGraph ?? false;
  return N.autogradGrad(
    outs,
    ins,
    opts.gradOutputs ?? null,
    opts.retainGraph ?? create,
    create,
    opts.allowUnused ?? false,
  );
}
