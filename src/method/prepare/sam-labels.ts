// SAM's answer for all point or box labels of one image in ONE batched decoder call: three multimask
// outputs per label, postprocessed to the original size and binarised at logit 0, as compressed RLE, with
// SAM's IoU predictions and stability scores (computed on the full-size logits, as the official predictor).
import * as torch from '../../engine/index.ts';
import type { WeakAnnotation } from '../../data/weak/types.ts';
import { encode } from '../../data/mask/index.ts';
import type { SamPredictor } from '../../sam/predictor.ts';
import type { PreparedLabel } from './types.ts';

/**
 * Labels of one image, in annotation order, from a predictor whose image (or cached embedding) is set.
 * `kind` is the image's label_type; every annotation must carry the matching field (validated on load).
 */
export function decodeImageLabels(
  predictor: SamPredictor,
  kind: 'point' | 'box',
  anns: WeakAnnotation[],
  chunkSize = 64,
): PreparedLabel[] {
  if (anns.length === 0) return [];
  const [H, W] = predictor.originalSize;
  const P = anns.length;
  const prompts = anns.map((a) => {
    const p = kind === 'point' ? a.point : a.bbox;
    if (!p)
      throw new Error(
        `annotation id ${a.id}: a ${kind} label without "${kind === 'point' ? 'point' : 'bbox'}"`,
      );
    return [...p];
  });
  return torch.tidy(() => {
    const r =
      kind === 'point'
        ? predictor.predictTorch({
            pointCoords: predictor.transformCoords(prompts).unsqueeze(1), // [P, 1, 2]
            pointLabels: torch.ones([P, 1], { dtype: 'int64' }),
            multimaskOutput: true,
            chunkSize,
          })
        : predictor.predictTorch({
            // COCO [x, y, w, h] -> SAM's [x0, y0, x1, y1]
            boxes: predictor.transformBoxes(prompts.map(([x, y, w, h]) => [x, y, x + w, y + h])),
            multimaskOutput: true,
            chunkSize,
          });
    const masks = r.masks!.to('uint8').contiguous().toTypedArray() as Uint8Array; // [P, 3, H, W]
    const iou = r.iouPredictions.toFloat32Array(); // [P, 3]
    const stab = r.stabilityScores.toFloat32Array(); // [P, 3]
    const hw = H * W;
    return anns.map((a, i): PreparedLabel => {
      const rle = (j: number) =>
        encode({ height: H, width: W, data: masks.subarray((i * 3 + j) * hw, (i * 3 + j + 1) * hw) });
      const three = <T>(f: (j: number) => T): [T, T, T] => [f(0), f(1), f(2)];
      return {
        annotationId: a.id,
        categoryId: a.category_id,
        kind,
        prompt: prompts[i],
        masks: three(rle),
        iou: three((j) => iou[i * 3 + j]),
        stability: three((j) => stab[i * 3 + j]),
      };
    });
  });
}
