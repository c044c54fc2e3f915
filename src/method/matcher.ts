// WISH's multi-stage matching (section 4.2, Eq. 11-14), per image, like DETR's / Mask2Former's
// HungarianMatcher: a [Q, T] cost from class, prompt latent and SAM mask terms, then the
// minimum-cost assignment. No gradients: the costs only choose pairs.
//
//   Cost = alpha * Cost_cls (Eq. 11) + beta * Cost_prompt (Eq. 12) + gamma * Cost_mask (Eq. 13)
//   Cost_cls[q, t]    = -softmax(logits_q)[c_t]
//   Cost_prompt[q, t] = KL(softmax(Z_t) || softmax(Z_hat_q)), summed over the two tokens
//   Cost_mask[q, t]   = min over SAM's masks n of (ceW * CE + diceW * dice)(M_hat_q, M_SAM^{t,n})
//                       on points sampled uniformly (the same points for all pairs of the image)
// The level n that gave the minimum is returned with the match: the loss supervises with that mask.
import * as torch from '../engine/index.ts';
import type { Generator, Tensor } from '../engine/index.ts';
import type { MatcherConfig } from './config.ts';
import { linearSumAssignment } from './hungarian.ts';
import { pairwiseDice, pairwiseSigmoidCe } from './mask-loss.ts';
import { pointSample, uniformPoints } from './point-sample.ts';
import { pairwisePromptKl } from './prompt-kl.ts';
import type { ImageTargets, LayerPrediction } from './types.ts';

/** One image's match. */
export interface ImageMatch {
  /** Matched query indices, ascending. */
  queries: number[];
  /** targets[i] is the target matched to queries[i]. */
  targets: number[];
  /** levels[i]: the mask level (0-2 of SAM's masks; 0 for full masks) that supervises the pair. */
  levels: number[];
}

/** The cost matrices of one image (for tests and inspection); all [Q, T]. */
export interface ImageCosts {
  total: Float32Array;
  classCost: Float32Array;
  promptCost: Float32Array;
  maskCost: Float32Array;
  /** The min-cost mask level per pair (Eq. 13's argmin, or the fixed level). */
  level: Int32Array;
  /** The mask distance to every level, [Q, T, levels]. */
  maskCostPerLevel: Float32Array;
  queries: number;
  targets: number;
  levels: number;
}

/** Which of the target's mask levels the pair may use. */
function levelChoice(config: MatcherConfig, levels: number): number | null {
  if (config.samLevel === 'adaptive' || levels === 1) return null;
  if (config.samLevel >= levels) {
    throw new Error(`matcher: samLevel ${config.samLevel} but the targets have ${levels} mask level(s)`);
  }
  return config.samLevel;
}

/**
 * The Eq. 14 cost for image b of one layer. logits [Q, C+1], masks [Q, h, w], prompts [Q, 2, Dp] (the
 * image's label kind) are image b's slices; coords [1, P, 2] the shared uniform points.
 */
export function imageCosts(
  logits: Tensor,
  masks: Tensor,
  prompts: Tensor | null,
  target: ImageTargets,
  coords: Tensor,
  config: MatcherConfig,
): ImageCosts {
  const Q = logits.shape[0];
  const T = target.classes.length;
  const K = target.masks.levels;
  if (target.masks.count !== T) {
    throw new Error(`matcher: ${T} target classes but ${target.masks.count} mask targets`);
  }
  const fixed = levelChoice(config, K);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const C1 = logits.shape[1];
      for (const c of target.classes) {
        if (!(Number.isInteger(c) && c >= 0 && c < C1 - 1)) {
          throw new Error(`matcher: target class ${c} outside [0, ${C1 - 1})`);
        }
      }
      const tgtIds = torch.tensor(target.classes, { dtype: 'int64', device: logits.device });
      // Eq. 11: minus the probability of the target's class.
      const classCost = logits.softmax(-1).indexSelect(1, tgtIds).neg(); // [Q, T]

      // Eq. 13: mask distance to every level on the shared uniform points, then min over levels.
      const P = coords.shape[1];
      const predPts = pointSample(masks.unsqueeze(0), coords).squeeze(0).float(); // [Q, P]
      const tgtPts = target.masks.sampleAll(coords).reshape(T * K, P); // [T*K, P]
      const perLevel = pairwiseSigmoidCe(predPts, tgtPts)
        .mul(config.maskCeWeight)
        .add(pairwiseDice(predPts, tgtPts).mul(config.maskDiceWeight))
        .reshape(Q, T, K);
      let maskCost: Tensor;
      let level: Tensor;
      if (fixed === null) {
        const m = perLevel.min(2);
        maskCost = m.values;
        level = m.indices;
      } else {
        maskCost = perLevel.select(2, fixed);
        level = torch.full([Q, T], fixed, { dtype: 'int64' });
      }

      // Eq. 12: KL between target and predicted prompt latents.
      const usePrompt = config.promptWeight > 0 && prompts !== null && target.prompts;
      const promptCost = usePrompt
        ? pairwisePromptKl(prompts.float(), target.prompts!.latents.float())
        : torch.zeros([Q, T], { device: logits.device });

      const total = classCost
        .mul(config.classWeight)
        .add(promptCost.mul(config.promptWeight))
        .add(maskCost.mul(config.maskWeight));
      return {
        total: total.toFloat32Array(),
        classCost: classCost.toFloat32Array(),
        promptCost: promptCost.toFloat32Array(),
        maskCost: maskCost.toFloat32Array(),
        level: Int32Array.from(level.toTypedArray() as BigInt64Array, Number),
        maskCostPerLevel: perLevel.toFloat32Array(),
        queries: Q,
        targets: T,
        levels: K,
      };
    }),
  );
}

/** Matches image b's queries to its targets from its costs. */
export function assign(costs: ImageCosts, where = 'matcher cost'): ImageMatch {
  const a = linearSumAssignment(costs.total, costs.queries, costs.targets, where);
  return {
    queries: a.rows,
    targets: a.cols,
    levels: a.rows.map((q, i) => costs.level[q * costs.targets + a.cols[i]]),
  };
}

/**
 * Matches every image of one layer's predictions to its targets (Mask2Former's HungarianMatcher.forward,
 * with WISH's costs). Fresh uniform points per image, as Mask2Former draws them.
 */
export function matchLayer(
  pred: LayerPrediction,
  targets: ImageTargets[],
  config: MatcherConfig,
  generator?: Generator,
): ImageMatch[] {
  const [B, Q] = pred.predLogits.shape;
  if (targets.length !== B)
    throw new Error(`matcher: ${B} images in the batch but ${targets.length} target sets`);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const coords = uniformPoints(B, config.numPoints, generator, pred.predMasks.device); // [B, P, 2]
      return targets.map((t, b) => {
        if (t.classes.length === 0 || Q === 0) return { queries: [], targets: [], levels: [] };
        return torch.tidy(() => {
          const prompts = t.prompts ? pred.predPrompts[t.prompts.kind].select(0, b) : null;
          const costs = imageCosts(
            pred.predLogits.select(0, b),
            pred.predMasks.select(0, b),
            prompts,
            t,
            coords.narrow(0, b, 1),
            config,
          );
          return assign(costs, `matcher cost of image ${b}`);
        });
      });
    }),
  );
}
