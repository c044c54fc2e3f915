// SAM's training losses for one batch of prompts. Mask loss per predicted mask: a pixel loss plus dice;
// SAM uses focal:dice = 20:1, we default to BCE + dice (1:1), which trains faster from scratch in the short
// CPU runs this teacher gets (focal is kept as an option). With ambiguity-aware (multimask) output only
// the best of the three masks is trained (minimum loss over them); the IoU head regresses, with MSE, the
// true IoU of each predicted mask, binarised at logit 0, against the ground truth.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';

export type PixelLoss = 'bce' | 'focal';

export interface MaskLossOptions {
  pixelLoss: PixelLoss;
  /** Weights of the pixel loss and of dice (SAM: focal 20, dice 1). */
  pixelWeight: number;
  diceWeight: number;
}

export const DEFAULT_MASK_LOSS: MaskLossOptions = { pixelLoss: 'bce', pixelWeight: 1, diceWeight: 1 };

/** logits [P, k, H, W], target [P, 1, H, W] (0/1 float) -> loss of every mask [P, k]. */
export function perMaskLoss(logits: Tensor, target: Tensor, o: MaskLossOptions = DEFAULT_MASK_LOSS): Tensor {
  return torch.tidy(() => {
    const t = target.expandAs(logits);
    const bce = torch.binaryCrossEntropyWithLogits(logits, t, { reduction: 'none' }); // [P, k, H, W]
    const prob = logits.sigmoid();
    let pix = bce;
    if (o.pixelLoss === 'focal') {
      // Focal loss (gamma 2, alpha 0.25), as SAM / RetinaNet.
      const pt = prob.mul(t).add(prob.rsub(1).mul(t.rsub(1)));
      const alpha = t.mul(0.25).add(t.rsub(1).mul(0.75));
      pix = bce.mul(pt.rsub(1).square()).mul(alpha);
    }
    const pixel = pix.mean([2, 3]); // [P, k]
    const inter = prob.mul(t).sum([2, 3]);
    const denom = prob.sum([2, 3]).add(t.sum([2, 3]));
    const dice = inter.mul(2).add(1).div(denom.add(1)).rsub(1); // [P, k]
    return pixel.mul(o.pixelWeight).add(dice.mul(o.diceWeight));
  });
}

/** [P, k] -> [P]: each prompt's smallest mask loss (the gradient reaches only that mask). */
export function minOverMasks(losses: Tensor): Tensor {
  return torch.tidy(() => torch.min(losses, 1).values);
}

/**
 * True IoU of each mask binarised at logit 0 with the target binarised at 0.5 (targets may be soft, the
 * fraction of a low-resolution cell inside the mask): logits [P, k, H, W], target [P, 1, H, W] -> [P, k].
 */
export function maskIou(logits: Tensor, target: Tensor): Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const pred = logits.detach().gt(0).float();
      const t = target.ge(0.5).float().expandAs(pred);
      const inter = pred.mul(t).sum([2, 3]);
      const union = pred.add(t).clampMax(1).sum([2, 3]);
      return inter.div(union.clampMin(1));
    }),
  );
}

export interface PromptBatchLoss {
  /** Scalar: mean over prompts of the (min) mask loss. */
  mask: Tensor;
  /** Scalar: MSE of the IoU head against the true IoUs. */
  iou: Tensor;
  /** [P, k] true IoUs (no grad). */
  trueIou: Tensor;
}

/**
 * Loss of one batch of prompts. logits [P, k, H, W] and iouPred [P, k]: k = 3 multimask outputs (min over
 * them) or k = 1 (the single-mask token).
 */
export function promptBatchLoss(
  logits: Tensor,
  iouPred: Tensor,
  target: Tensor,
  o: MaskLossOptions = DEFAULT_MASK_LOSS,
): PromptBatchLoss {
  return torch.tidy(() => {
    const per = perMaskLoss(logits, target, o);
    const mask = (per.size(1) > 1 ? minOverMasks(per) : per.squeeze(1)).mean();
    const trueIou = maskIou(logits, target);
    const iou = torch.mseLoss(iouPred, trueIou);
    return { mask, iou, trueIou };
  });
}
