// The teacher's forward pass on a TeachBatch: one image-encoder call for the batch's images, then one
// decoder call per prompt group with every prompt's own image embedding (index_select), and SAM's losses on
// the low-resolution logits against low-resolution targets (batch.ts lowResTarget): 4x fewer pixels than
// the input frame, which matters on a CPU; evaluation measures IoU in the original frame.
// Single points use the three multimask outputs; boxes and multi-point prompts the single-mask token.
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import type { Sam } from '../sam.ts';
import type { PromptGroup, TeachBatch } from './batch.ts';
import { DEFAULT_MASK_LOSS, promptBatchLoss, type MaskLossOptions } from './losses.ts';

export interface GroupOutput {
  group: PromptGroup;
  /** [P, k, 4h, 4w] low-resolution logits (k = 3 for single points, else 1). */
  logits: Tensor;
  /** [P, k] */
  iouPred: Tensor;
}

/** Decodes every group of the batch; with grad unless called under noGrad. */
export function decodeBatch(sam: Sam, batch: TeachBatch, imageEmbeddings?: Tensor): GroupOutput[] {
  return torch.tidy(() => {
    const emb = imageEmbeddings ?? sam.encodeImage(batch.images); // [N, D, h, w]
    const imagePe = sam.promptEncoder.getDensePe();
    return batch.groups.map((group) => {
      const { sparse, dense } = sam.promptEncoder.forward({
        points: group.coords ? { coords: group.coords, labels: group.labels! } : null,
        boxes: group.boxes,
        masks: null,
      });
      const multimask = group.kind === 'point';
      const { masks, iouPred } = sam.maskDecoder.forward(
        {
          imageEmbeddings: emb.indexSelect(0, group.imageIndex), // [P, D, h, w]
          imagePe,
          sparsePromptEmbeddings: sparse,
          densePromptEmbeddings: dense.narrow(0, 0, 1),
        },
        multimask,
      );
      return { group, logits: masks, iouPred };
    });
  });
}

export interface BatchLoss {
  /** Scalar to minimise: mean mask loss over all prompts + iouWeight * mean IoU MSE. */
  total: Tensor;
  mask: number;
  iou: number;
  /** Mean true IoU of the trained mask (the min-loss one for multimask), for the log. */
  meanIou: number;
  prompts: number;
}

export function batchLoss(
  sam: Sam,
  batch: TeachBatch,
  opts: { loss?: MaskLossOptions; iouWeight?: number } = {},
): BatchLoss {
  return torch.tidy(() => {
    const outs = decodeBatch(sam, batch);
    let P = 0;
    let mask: Tensor | null = null;
    let iou: Tensor | null = null;
    let iouSum = 0;
    for (const o of outs) {
      const p = o.logits.size(0);
      const l = promptBatchLoss(o.logits, o.iouPred, o.group.targets, opts.loss ?? DEFAULT_MASK_LOSS);
      mask = mask ? mask.add(l.mask.mul(p)) : l.mask.mul(p);
      iou = iou ? iou.add(l.iou.mul(p)) : l.iou.mul(p);
      iouSum += l.trueIou.amax(1).sum().item();
      P += p;
    }
    if (!mask || !iou) throw new Error('teach: a batch without prompts');
    const m = mask.div(P);
    const i = iou.div(P);
    const total = m.add(i.mul(opts.iouWeight ?? 1));
    return { total, mask: m.item(), iou: i.item(), meanIou: iouSum / P, prompts: P };
  });
}
