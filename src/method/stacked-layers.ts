// Every decoder layer's predictions concatenated along the batch, made once per iteration and read by
// both the matcher and the set loss: with deep supervision each of them would otherwise concatenate the
// same tensors again (or run one small op per layer; at cpu-small sizes the per-op cost dominates).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import type { ImageTargets, LayerPrediction, PromptKind } from './types.ts';

/** Layer l's image b is row l * B + b. Tensors keep their gradients (cat is differentiable). */
export interface StackedLayers {
  layers: number;
  /** [L*B, Q, C+1] */
  logits: Tensor;
  /** [L*B, Q, h, w] */
  masks: Tensor;
  /** [L*B, Q, 2, Dp] per kind; null for a kind no target image has (nothing reads it). */
  prompts: Record<PromptKind, Tensor | null>;
}

/** Stacks the layers (a single layer is used as is); the result lives in the caller's tidy scope. */
export function stackLayers(layers: LayerPrediction[], targets: ImageTargets[]): StackedLayers {
  if (layers.length === 0) throw new Error('stackLayers: no layer');
  const cat = (f: (l: LayerPrediction) => Tensor): Tensor =>
    layers.length === 1 ? f(layers[0]) : torch.cat(layers.map(f), 0);
  const used = (kind: PromptKind): boolean =>
    targets.some((t) => t.prompts?.kind === kind && t.classes.length > 0);
  return {
    layers: layers.length,
    logits: cat((l) => l.predLogits),
    masks: cat((l) => l.predMasks),
    prompts: {
      point: used('point') ? cat((l) => l.predPrompts.point) : null,
      box: used('box') ? cat((l) => l.predPrompts.box) : null,
    },
  };
}
