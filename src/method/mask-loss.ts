// Mask2Former's mask distance: sigmoid cross-entropy and dice, on sampled points. Two forms of each:
// the all-pairs cost matrix used by the matcher (Eq. 13's d) and the per-match loss (Eq. 15).
// Logits are mask logits; targets are 0/1 (or soft) values at the same points.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';

function check2d(name: string, t: Tensor): void {
  if (t.ndim !== 2) throw new Error(`${name} must be [rows, points], got [${t.shape.join(', ')}]`);
}

/**
 * batch_sigmoid_ce_loss: mean over points of BCE(logit_q, target_t) for every pair.
 * logits [Q, P], targets [T, P] -> [Q, T]. BCE(x, t) = softplus(x) - x t, so one matmul does it.
 */
export function pairwiseSigmoidCe(logits: Tensor, targets: Tensor): Tensor {
  check2d('pairwiseSigmoidCe logits', logits);
  check2d('pairwiseSigmoidCe targets', targets);
  const p = logits.shape[1];
  return torch.tidy(() => torch.softplus(logits).sum(1).unsqueeze(1).sub(logits.matmul(targets.t())).div(p));
}

/**
 * batch_dice_loss: 1 - (2 <s, t> + 1) / (sum s + sum t + 1) with s = sigmoid(logits), for every pair.
 * logits [Q, P], targets [T, P] -> [Q, T].
 */
export function pairwiseDice(logits: Tensor, targets: Tensor): Tensor {
  check2d('pairwiseDice logits', logits);
  check2d('pairwiseDice targets', targets);
  return torch.tidy(() => {
    const s = logits.sigmoid();
    const num = s.matmul(targets.t()).mul(2).add(1);
    const den = s.sum(-1).unsqueeze(1).add(targets.sum(-1).unsqueeze(0)).add(1);
    return num.div(den).rsub(1);
  });
}

/**
 * Mask2Former's matching distance ceWeight * CE + diceWeight * dice for every pair, with both
 * products <x, t> and <sigmoid(x), t> from one matmul. logits [Q, P], targets [T, P] -> [Q, T].
 */
export function pairwiseMaskCost(
  logits: Tensor,
  targets: Tensor,
  ceWeight: number,
  diceWeight: number,
): Tensor {
  check2d('pairwiseMaskCost logits', logits);
  check2d('pairwiseMaskCost targets', targets);
  const [Q, p] = logits.shape;
  return torch.tidy(() => {
    const s = logits.sigmoid();
    const prods = torch.cat([logits, s], 0).matmul(targets.t()); // [2Q, T]
    const ce = torch
      .softplus(logits)
      .sum(1)
      .unsqueeze(1)
      .sub(prods.narrow(0, 0, Q))
      .div(p);
    const den = s.sum(1).unsqueeze(1).add(targets.sum(1).unsqueeze(0)).add(1);
    const dice = prods.narrow(0, Q, Q).mul(2).add(1).div(den).rsub(1);
    return ce.mul(ceWeight).add(dice.mul(diceWeight));
  });
}

/**
 * sigmoid_ce_loss: sum over matches of the mean-over-points BCE, divided by numMasks. [M, P] x [M, P] ->
 * scalar, or with reduction 'none' the per-match terms [M] (already divided by numMasks).
 */
export function sigmoidCeLoss(
  logits: Tensor,
  targets: Tensor,
  numMasks: number,
  reduction: 'sum' | 'none' = 'sum',
): Tensor {
  check2d('sigmoidCeLoss logits', logits);
  return torch.tidy(() => {
    const per = torch
      .binaryCrossEntropyWithLogits(logits, targets, { reduction: 'none' })
      .mean(1)
      .div(numMasks);
    return reduction === 'none' ? per : per.sum();
  });
}

/** dice_loss: sum over matches of 1 - (2 <s, t> + 1) / (sum s + sum t + 1), divided by numMasks (or per match). */
export function diceLoss(
  logits: Tensor,
  targets: Tensor,
  numMasks: number,
  reduction: 'sum' | 'none' = 'sum',
): Tensor {
  check2d('diceLoss logits', logits);
  return torch.tidy(() => {
    const s = logits.sigmoid();
    const num = s.mul(targets).sum(-1).mul(2).add(1);
    const den = s.sum(-1).add(targets.sum(-1)).add(1);
    const per = num.div(den).rsub(1).div(numMasks);
    return reduction === 'none' ? per : per.sum();
  });
}
