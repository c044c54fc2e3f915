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
 * logits [Q, P], targets [T, P] -> [Q, T]. Written as two matmuls: BCE(x, t) = softplus(-x) t + softplus(x) (1 - t).
 */
export function pairwiseSigmoidCe(logits: Tensor, targets: Tensor): Tensor {
  check2d('pairwiseSigmoidCe logits', logits);
  check2d('pairwiseSigmoidCe targets', targets);
  const p = logits.shape[1];
  return torch.tidy(() => {
    const pos = torch.softplus(logits.neg()); // BCE against 1
    const neg = torch.softplus(logits); // BCE against 0
    return pos
      .matmul(targets.t())
      .add(neg.matmul(targets.rsub(1).t()))
      .div(p);
  });
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

/** sigmoid_ce_loss: sum over matches of the mean-over-points BCE, divided by numMasks. [M, P] x [M, P] -> scalar. */
export function sigmoidCeLoss(logits: Tensor, targets: Tensor, numMasks: number): Tensor {
  check2d('sigmoidCeLoss logits', logits);
  return torch.tidy(() =>
    torch.binaryCrossEntropyWithLogits(logits, targets, { reduction: 'none' }).mean(1).sum().div(numMasks),
  );
}

/** dice_loss: sum over matches of 1 - (2 <s, t> + 1) / (sum s + sum t + 1), divided by numMasks. */
export function diceLoss(logits: Tensor, targets: Tensor, numMasks: number): Tensor {
  check2d('diceLoss logits', logits);
  return torch.tidy(() => {
    const s = logits.sigmoid();
    const num = s.mul(targets).sum(-1).mul(2).add(1);
    const den = s.sum(-1).add(targets.sum(-1)).add(1);
    return num.div(den).rsub(1).sum().div(numMasks);
  });
}
