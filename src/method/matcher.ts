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
import { pointSample, uniformPoints } from './point-sample.ts';
import { pairwisePromptKlFromLogProbs } from './prompt-kl.ts';
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
 * What one layer's cost needs from the predictions, computed once for every image of the batch:
 * class probabilities, mask logits at each image's points (and their sigmoid), the predicted prompt
 * log-probabilities of each kind.
 */
interface PreparedLayer {
  probs: Tensor; // [B, Q, C+1]
  /** [B, 2Q, P]: mask logits at the points stacked over their sigmoid (one matmul gives CE and dice). */
  stacked: Tensor;
  softplusSum: Tensor; // [B, Q]
  sigmoidSum: Tensor; // [B, Q]
  logQ: { point: Tensor | null; box: Tensor | null }; // [B, Q, 2*Dp]
  coords: Tensor; // [B, P, 2]
}

function prepareLayer(
  pred: LayerPrediction,
  coords: Tensor,
  targets: ImageTargets[],
  config: MatcherConfig,
): PreparedLayer {
  const x = pointSample(pred.predMasks, coords).float(); // [B, Q, P]
  const s = x.sigmoid();
  const kinds = new Set(targets.map((t) => (t.prompts ? t.prompts.kind : null)));
  const logQ = (kind: 'point' | 'box'): Tensor | null =>
    config.promptWeight > 0 && kinds.has(kind)
      ? pred.predPrompts[kind].float().logSoftmax(-1).flatten(2)
      : null;
  return {
    probs: pred.predLogits.float().softmax(-1),
    stacked: torch.cat([x, s], 1),
    softplusSum: torch.softplus(x).sum(2),
    sigmoidSum: s.sum(2),
    logQ: { point: logQ('point'), box: logQ('box') },
    coords,
  };
}

interface CostTensors {
  total: Tensor;
  classCost: Tensor;
  promptCost: Tensor | null;
  maskCost: Tensor;
  level: Tensor;
  perLevel: Tensor;
}

/** Eq. 11-14 for image b of a prepared layer; all [Q, T] (perLevel [Q, T, K]). */
function costTensors(l: PreparedLayer, b: number, target: ImageTargets, config: MatcherConfig): CostTensors {
  const [, Q2, P] = l.stacked.shape;
  const Q = Q2 / 2;
  const T = target.classes.length;
  const K = target.masks.levels;
  const C1 = l.probs.shape[2];
  if (target.masks.count !== T) {
    throw new Error(`matcher: ${T} target classes but ${target.masks.count} mask targets`);
  }
  for (const c of target.classes) {
    if (!(Number.isInteger(c) && c >= 0 && c < C1 - 1)) {
      throw new Error(`matcher: target class ${c} outside [0, ${C1 - 1})`);
    }
  }
  const fixed = levelChoice(config, K);
  const device = l.probs.device;
  // Eq. 11: minus the probability of the target's class.
  const tgtIds = torch.tensor(target.classes, { dtype: 'int64', device });
  const classCost = l.probs.select(0, b).indexSelect(1, tgtIds).neg(); // [Q, T]

  // Eq. 13: Mask2Former's distance (ceW * CE + diceW * dice) to every level, on the image's points;
  // BCE(x, t) = softplus(x) - x t and dice's <sigmoid(x), t> come from one matmul.
  const tgt = target.masks
    .sampleAll(l.coords.narrow(0, b, 1))
    .reshape(T * K, P)
    .float(); // [T*K, P]
  const prods = l.stacked.select(0, b).matmul(tgt.t()); // [2Q, T*K]
  const ce = l.softplusSum
    .select(0, b)
    .unsqueeze(1)
    .sub(prods.narrow(0, 0, Q))
    .div(P);
  const den = l.sigmoidSum.select(0, b).unsqueeze(1).add(tgt.sum(1).unsqueeze(0)).add(1);
  const dice = prods.narrow(0, Q, Q).mul(2).add(1).div(den).rsub(1);
  const perLevel = ce.mul(config.maskCeWeight).add(dice.mul(config.maskDiceWeight)).reshape(Q, T, K);
  let maskCost: Tensor;
  let level: Tensor;
  if (fixed === null) {
    const m = perLevel.min(2);
    maskCost = m.values;
    level = m.indices;
  } else {
    maskCost = perLevel.select(2, fixed);
    level = torch.full([Q, T], fixed, { dtype: 'int64', device });
  }

  // Eq. 12: KL between the target and predicted prompt latents (the image's label kind).
  const logQ = target.prompts ? l.logQ[target.prompts.kind] : null;
  const promptCost =
    logQ && target.prompts ? pairwisePromptKlFromLogProbs(logQ.select(0, b), target.prompts.latents) : null;

  let total = classCost.mul(config.classWeight).add(maskCost.mul(config.maskWeight));
  if (promptCost) total = total.add(promptCost.mul(config.promptWeight));
  return { total, classCost, promptCost, maskCost, level, perLevel };
}

/**
 * The Eq. 14 cost matrices of one image, for tests and inspection. logits [Q, C+1], masks [Q, h, w],
 * prompts [Q, 2, Dp] (the image's label kind, or null); coords [1, P, 2] the image's points.
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
  return torch.noGrad(() =>
    torch.tidy(() => {
      const kind = target.prompts?.kind ?? 'point';
      const p = prompts ?? torch.zeros([Q, 2, 1]);
      const pred: LayerPrediction = {
        predLogits: logits.unsqueeze(0),
        predMasks: masks.unsqueeze(0),
        predPrompts: { point: p.unsqueeze(0), box: p.unsqueeze(0), [kind]: p.unsqueeze(0) },
      };
      const t = prompts ? target : { ...target, prompts: null };
      const c = costTensors(prepareLayer(pred, coords, [t], config), 0, t, config);
      return {
        total: c.total.toFloat32Array(),
        classCost: c.classCost.toFloat32Array(),
        promptCost: c.promptCost ? c.promptCost.toFloat32Array() : new Float32Array(Q * T),
        maskCost: c.maskCost.toFloat32Array(),
        level: Int32Array.from(c.level.toTypedArray() as BigInt64Array, Number),
        maskCostPerLevel: c.perLevel.toFloat32Array(),
        queries: Q,
        targets: T,
        levels: target.masks.levels,
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
      const layer = prepareLayer(pred, coords, targets, config);
      return targets.map((t, b) => {
        const T = t.classes.length;
        if (T === 0 || Q === 0) return { queries: [], targets: [], levels: [] };
        return torch.tidy(() => {
          const c = costTensors(layer, b, t, config);
          const a = linearSumAssignment(c.total.toFloat32Array(), Q, T, `matcher cost of image ${b}`);
          const level = c.level.toTypedArray() as BigInt64Array;
          return {
            queries: a.rows,
            targets: a.cols,
            levels: a.rows.map((q, i) => Number(level[q * T + a.cols[i]])),
          };
        });
      });
    }),
  );
}
