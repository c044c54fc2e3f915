// What the method reads: the model's predictions (shapes as the Mask2Former model emits them) and each
// image's weak-label targets.
import type { Tensor } from '../engine/index.ts';
import { EmptyMaskTargets, type MaskTargets } from './sam-targets.ts';

/** The prompt-latent kind of an image's labels (tag-derived points use 'point'). */
export type PromptKind = 'point' | 'box';

/** One decoder layer's predictions for a batch. */
export interface LayerPrediction {
  /** [B, Q, C + 1] class logits, no-object last. */
  predLogits: Tensor;
  /** [B, Q, h, w] mask logits (Eq. 8). */
  predMasks: Tensor;
  /** [B, Q, 2, Dp] two-token prompt latents of each kind (Eq. 10). */
  predPrompts: { point: Tensor; box: Tensor };
}

/** The model's output: the last layer, the earlier layers (deep supervision), the CAM head. */
export interface WishPredictions extends LayerPrediction {
  aux?: LayerPrediction[];
  /** [B, C, h', w'] class activation maps (Eq. 16). */
  camMaps: Tensor;
  /** [B, C] GAP of the CAMs (Eq. 17). */
  camLogits: Tensor;
}

/** The SAM prompt latents of an image's targets (Eq. 9). */
export interface TargetPrompts {
  kind: PromptKind;
  /** [T, 2, Dp] sparse embeddings from SAM's prompt encoder. */
  latents: Tensor;
}

/** One image's targets: T instances with classes, mask targets and (for points / boxes) prompt latents. */
export interface ImageTargets {
  /** [T] class ids in [0, C). */
  classes: number[];
  /** T mask targets (SAM's three candidates, or one full mask). */
  masks: MaskTargets;
  /** Absent for labels without a SAM prompt (e.g. full masks): no prompt cost or loss. */
  prompts?: TargetPrompts | null;
  /** The image-level classes (Eq. 17); default: the distinct `classes`. Tag images give their tags. */
  imageClasses?: number[];
}

/** An image with classes but no instance target (a tag image whose CAMs gave no point): only L_cam and L_self use it. */
export const classesOnly = (imageClasses: number[]): ImageTargets => ({
  classes: [],
  masks: new EmptyMaskTargets(),
  imageClasses,
});
