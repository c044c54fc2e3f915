// Losses (torch.nn.functional.*), camelCased. Reductions: 'mean' (default), 'sum', 'none'.
import { N } from './native.ts';
import { reductionCode, type Reduction } from './ops/codes.ts';
import type { Tensor } from './tensor.ts';

export interface CrossEntropyOptions {
  /** per-class weights [C] */
  weight?: Tensor | null;
  /** targets equal to this are skipped (and excluded from the mean); default -100 */
  ignoreIndex?: number;
  reduction?: Reduction;
  labelSmoothing?: number;
}
/**
 * logits [N, C, ...] against int64 class indices [N, ...] or class probabilities [N, C, ...].
 * With weights, 'mean' divides by the summed weights of the non-ignored targets (like PyTorch).
 */
export const crossEntropy = (logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor =>
  N.crossEntropy(
    logits,
    target,
    opts.weight,
    reductionCode(opts.reduction ?? 'mean'),
    opts.ignoreIndex ?? -100,
    opts.labelSmoothing ?? 0,
  );

/** log-probabilities [N, C, ...] against int64 targets [N, ...]. */
export const nllLoss = (
  logProbs: Tensor,
  target: Tensor,
  opts: Omit<CrossEntropyOptions, 'labelSmoothing'> = {},
): Tensor =>
  N.nllLoss(logProbs, target, opts.weight, reductionCode(opts.reduction ?? 'mean'), opts.ignoreIndex ?? -100);

/** Numerically stable sigmoid + binary cross-entropy; posWeight [C] weighs positive examples. */
export const binaryCrossEntropyWithLogits = (
  logits: Tensor,
  target: Tensor,
  opts: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {},
): Tensor =>
  N.bceWithLogits(logits, target, opts.weight, opts.posWeight, reductionCode(opts.reduction ?? 'mean'));

/** Binary cross-entropy on probabilities in [0, 1]. */
export const binaryCrossEntropy = (
  probs: Tensor,
  target: Tensor,
  opts: { weight?: Tensor | null; reduction?: Reduction } = {},
): Tensor => N.bce(probs, target, opts.weight, reductionCode(opts.reduction ?? 'mean'));

/**
 * KL(target || input) with `input` given as log-probabilities: sum target * (log target - input).
 * reduction 'batchmean' (sum / batch size) is the mathematically correct KL; 'mean' averages over all
 * elements as PyTorch does.
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {},
): Tensor {
  const r = opts.reduction ?? 'mean';
  const logTarget = opts.logTarget ?? false;
  if (r !== 'batchmean') return N.klDiv(input, target, reductionCode(r), logTarget);
  const total = N.klDiv(input, target, reductionCode('sum'), logTarget);
  const batch = N.dim(input) === 0 ? 1 : N.size(input, 0);
  try {
    return N.binary(total, batch, 3);
  } finally {
    N.dispose(total);
  }
}

export const mseLoss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  N.mseLoss(input, target, reductionCode(reduction));
export const l1Loss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor =>
  N.l1Loss(input, target, reductionCode(reduction));
export const smoothL1Loss = (
  input: Tensor,
  target: Tensor,
  reduction: Reduction = 'mean',
  beta = 1,
): Tensor => N.smoothL1Loss(input, target, reductionCode(reduction), beta);
export const huberLoss = (input: Tensor, target: Tensor, reduction: Reduction = 'mean', delta = 1): Tensor =>
  N.huberLoss(input, target, reductionCode(reduction), delta);
