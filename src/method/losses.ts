// WISH's losses: the set loss L_seg (Eq. 15) with deep supervision, the CAM classification loss L_cam
// (Eq. 17), the self-enhancement loss L_self (Eq. 19), and their sum (Eq. 20) with the CAM-only warm-up.
import * as torch from '../engine/index.ts';
import type { Generator, Tensor } from '../engine/index.ts';
import type { WishLossConfig } from './config.ts';
import { diceLoss, sigmoidCeLoss } from './mask-loss.ts';
import { matchLayer, type ImageMatch } from './matcher.ts';
import { pointSample, uncertainPointCoordsWithRandomness } from './point-sample.ts';
import { promptKl } from './prompt-kl.ts';
import type { ImageTargets, LayerPrediction, WishPredictions } from './types.ts';

/** Unweighted Eq. 15 terms of one decoder layer (0-d tensors with gradients). */
export interface SetLossTerms {
  /** Class cross-entropy over all queries, no-object weighted (Mask2Former's loss_ce). */
  ce: Tensor;
  /** Sigmoid CE on importance-sampled points, per target (loss_mask). */
  mask: Tensor;
  /** Dice on the same points (loss_dice). */
  dice: Tensor;
  /** Prompt KL, mean over matched pairs that have a prompt latent (loss_prompt). */
  prompt: Tensor;
}

/** The distinct image-level classes of a target set (Eq. 17's c^img). */
export function imageClassesOf(t: ImageTargets): number[] {
  return [...new Set(t.imageClasses ?? t.classes)].sort((a, b) => a - b);
}

/** Mask2Former's num_masks: targets in the batch, at least 1. */
export const numMasksOf = (targets: ImageTargets[]): number =>
  Math.max(
    1,
    targets.reduce((n, t) => n + t.classes.length, 0),
  );

/**
 * Eq. 15 for one layer, given its matches: class CE over all queries (unmatched ones are no-object),
 * and for matched queries the mask loss against the matched target's chosen level and the prompt KL.
 */
export function setLoss(
  pred: LayerPrediction,
  targets: ImageTargets[],
  matches: ImageMatch[],
  config: WishLossConfig,
  numMasks: number,
  generator?: Generator,
): SetLossTerms {
  const [B, Q, C1] = pred.predLogits.shape;
  const C = C1 - 1;
  return torch.tidy(() => {
    const device = pred.predLogits.device;
    // Class targets: C (no-object) unless matched.
    const cls = new Array<number>(B * Q).fill(C);
    const flatQuery: number[] = [];
    matches.forEach((m, b) =>
      m.queries.forEach((q, i) => {
        cls[b * Q + q] = targets[b].classes[m.targets[i]];
        flatQuery.push(b * Q + q);
      }),
    );
    const weight = torch.ones([C1], { device });
    weight.indexPut_([C], config.noObjectWeight);
    const ce = torch.crossEntropy(
      pred.predLogits.reshape(B * Q, C1).float(),
      torch.tensor(cls, { dtype: 'int64', device }),
      { weight },
    );

    const M = flatQuery.length;
    if (M === 0) {
      // Nothing matched: zero losses that still reach the predictions (so every parameter gets a gradient).
      const zero = pred.predMasks.sum().mul(0);
      const zp = pred.predPrompts.point.sum().add(pred.predPrompts.box.sum()).mul(0);
      return { ce, mask: zero, dice: zero.clone(), prompt: zp };
    }

    // Mask loss on importance-sampled points of the matched predictions (Mask2Former's loss_masks).
    const src = pred.predMasks
      .flatten(0, 1)
      .indexSelect(0, torch.tensor(flatQuery, { dtype: 'int64', device })); // [M, h, w]
    const { coords, labels } = torch.noGrad(() => {
      const coords = uncertainPointCoordsWithRandomness(
        src.detach(),
        config.numPoints,
        config.oversampleRatio,
        config.importanceSampleRatio,
        generator,
      ); // [M, P, 2]
      const parts: Tensor[] = [];
      let offset = 0;
      matches.forEach((m, b) => {
        const n = m.queries.length;
        if (n === 0) return;
        parts.push(targets[b].masks.samplePairs(m.targets, m.levels, coords.narrow(0, offset, n)));
        offset += n;
      });
      return { coords, labels: parts.length === 1 ? parts[0] : torch.cat(parts, 0) }; // labels [M, P]
    });
    const logits = pointSample(src, coords).float(); // [M, P]
    const mask = sigmoidCeLoss(logits, labels, numMasks);
    const dice = diceLoss(logits, labels, numMasks);

    // Prompt KL for matched pairs whose image has prompt latents (Eq. 15's Cost_prompt as a loss).
    const predZ: Tensor[] = [];
    const tgtZ: Tensor[] = [];
    matches.forEach((m, b) => {
      const p = targets[b].prompts;
      if (!p || m.queries.length === 0) return;
      const qi = torch.tensor(m.queries, { dtype: 'int64', device });
      const ti = torch.tensor(m.targets, { dtype: 'int64', device: p.latents.device });
      predZ.push(pred.predPrompts[p.kind].select(0, b).indexSelect(0, qi));
      tgtZ.push(p.latents.detach().indexSelect(0, ti).to(device)); // a target: SAM is frozen
    });
    const prompt =
      predZ.length === 0
        ? pred.predPrompts.point.sum().add(pred.predPrompts.box.sum()).mul(0)
        : promptKl(torch.cat(predZ, 0).float(), torch.cat(tgtZ, 0).float())
            .sum()
            .div(predZ.reduce((n, z) => n + z.shape[0], 0));
    return { ce, mask, dice, prompt };
  });
}

/** Weighted sum of one layer's terms (Eq. 15 with the paper's weights). */
export function weightedSetLoss(t: SetLossTerms, config: WishLossConfig): Tensor {
  return torch.tidy(() =>
    t.ce
      .mul(config.classWeight)
      .add(t.mask.mul(config.maskCeWeight))
      .add(t.dice.mul(config.diceWeight))
      .add(t.prompt.mul(config.promptWeight)),
  );
}

/** Multi-hot [B, C] of the image-level classes. */
export function imageClassTargets(targets: ImageTargets[], numClasses: number, device?: string): Tensor {
  const data = new Float32Array(targets.length * numClasses);
  targets.forEach((t, b) => {
    for (const c of imageClassesOf(t)) {
      if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) {
        throw new Error(`image ${b}: class ${c} outside [0, ${numClasses})`);
      }
      data[b * numClasses + c] = 1;
    }
  });
  return torch.fromTypedArray(data, [targets.length, numClasses], { device });
}

/** Eq. 17: multi-label BCE between the GAP'd CAM logits [B, C] and the image's classes. */
export function camLoss(camLogits: Tensor, targets: ImageTargets[]): Tensor {
  const [B, C] = camLogits.shape;
  if (targets.length !== B) throw new Error(`camLoss: ${B} images but ${targets.length} target sets`);
  return torch.tidy(() =>
    torch.binaryCrossEntropyWithLogits(camLogits.float(), imageClassTargets(targets, C, camLogits.device)),
  );
}

/**
 * Eq. 19's target M_c [B, C, h, w], held constant: per class, the OR of the binary masks (probability >=
 * maskThreshold) of the queries whose best class (over C + 1, so no-object queries never count) is c
 * with softmax score >= scoreThreshold. Classes absent from the image's labels get all zeros.
 */
export function mergedClassMasks(
  predLogits: Tensor,
  predMasks: Tensor,
  targets: ImageTargets[],
  scoreThreshold: number,
  maskThreshold: number,
): Tensor {
  const [B, Q, C1] = predLogits.shape;
  const C = C1 - 1;
  const [, , h, w] = predMasks.shape;
  return torch.noGrad(() =>
    torch.tidy(() => {
      const best = predLogits.float().softmax(-1).max(-1); // values, indices [B, Q]
      const real = best.indices.lt(C).logicalAnd(best.values.ge(scoreThreshold)); // [B, Q]
      const assign = torch
        .oneHot(best.indices.clampMax(C - 1), C)
        .float()
        .mul(real.unsqueeze(-1).float()); // [B, Q, C]
      const binary = predMasks
        .float()
        .sigmoid()
        .ge(maskThreshold)
        .float()
        .reshape(B, Q, h * w);
      const present = imageClassTargets(targets, C, predLogits.device).unsqueeze(-1); // [B, C, 1]
      return assign.transpose(1, 2).bmm(binary).gt(0).float().mul(present).reshape(B, C, h, w);
    }),
  );
}

/**
 * Eq. 19: BCE between each class's CAM and its merged mask (constant). The CAM logits [B, C, h', w'] are
 * resized (bilinear) to the mask resolution [h, w]: the target keeps the masks' detail and the gradient
 * reaches the CAM through the resize.
 */
export function selfEnhancementLoss(
  camMaps: Tensor,
  predLogits: Tensor,
  predMasks: Tensor,
  targets: ImageTargets[],
  config: Pick<WishLossConfig, 'selfScoreThreshold' | 'selfMaskThreshold'>,
): Tensor {
  const [B, C] = camMaps.shape;
  if (predLogits.shape[2] !== C + 1) {
    throw new Error(
      `selfEnhancementLoss: ${C} CAM classes but ${predLogits.shape[2]} class logits (expected C + 1)`,
    );
  }
  if (targets.length !== B)
    throw new Error(`selfEnhancementLoss: ${B} images but ${targets.length} target sets`);
  return torch.tidy(() => {
    const target = mergedClassMasks(
      predLogits,
      predMasks,
      targets,
      config.selfScoreThreshold,
      config.selfMaskThreshold,
    );
    const [h, w] = predMasks.shape.slice(2);
    const cams = torch.interpolate(camMaps.float(), { size: [h, w], mode: 'bilinear', alignCorners: false });
    return torch.binaryCrossEntropyWithLogits(cams, target);
  });
}

/** Which parts of Eq. 20 are on at an iteration: only L_cam during the warm-up (paper 5.1.2). */
export function lossPhase(
  iteration: number,
  config: Pick<WishLossConfig, 'warmupIterations'>,
): {
  seg: boolean;
  cam: boolean;
  self: boolean;
} {
  const warm = iteration < config.warmupIterations;
  return { seg: !warm, cam: true, self: !warm };
}

export interface WishLossResult {
  /** Eq. 20, with the configured weights, to call backward() on. */
  total: Tensor;
  /** Every term, detached (0-d), for logging: loss_ce, loss_mask, loss_dice, loss_prompt (last layer),
   * the same with a _<layer> suffix for the earlier layers, loss_cam, loss_self. Weighted as in total. */
  terms: Record<string, Tensor>;
  /** The last layer's matches (empty during the warm-up). */
  matches: ImageMatch[];
}

/**
 * Eq. 20: L_seg (Eq. 15 on the last layer and, with deep supervision, on every earlier layer with its own
 * matching) + L_cam (Eq. 17) + L_self (Eq. 19), with only L_cam before warmupIterations.
 */
export function wishLoss(
  pred: WishPredictions,
  targets: ImageTargets[],
  config: WishLossConfig,
  opts: { iteration: number; generator?: Generator },
): WishLossResult {
  const B = pred.predLogits.shape[0];
  if (targets.length !== B)
    throw new Error(`wishLoss: ${B} images in the batch but ${targets.length} target sets`);
  const phase = lossPhase(opts.iteration, config);
  return torch.tidy(() => {
    const terms: Record<string, Tensor> = {};
    const parts: Tensor[] = [];
    const add = (name: string, value: Tensor, w: number): void => {
      const weighted = value.mul(w);
      terms[name] = weighted.detach();
      parts.push(weighted);
    };
    let matches: ImageMatch[] = [];
    if (phase.seg) {
      const numMasks = numMasksOf(targets);
      const layers: [string, LayerPrediction][] = [['', pred]];
      if (config.deepSupervision) (pred.aux ?? []).forEach((l, i) => layers.push([`_${i}`, l]));
      for (const [suffix, layer] of layers) {
        const m = matchLayer(layer, targets, config.matcher, opts.generator);
        if (suffix === '') matches = m;
        const t = setLoss(layer, targets, m, config, numMasks, opts.generator);
        add(`loss_ce${suffix}`, t.ce, config.classWeight);
        add(`loss_mask${suffix}`, t.mask, config.maskCeWeight);
        add(`loss_dice${suffix}`, t.dice, config.diceWeight);
        add(`loss_prompt${suffix}`, t.prompt, config.promptWeight);
      }
    }
    if (phase.cam) add('loss_cam', camLoss(pred.camLogits, targets), config.camWeight);
    if (phase.self && config.selfWeight > 0) {
      add(
        'loss_self',
        selfEnhancementLoss(pred.camMaps, pred.predLogits, pred.predMasks, targets, config),
        config.selfWeight,
      );
    }
    const total = parts.reduce((a, b) => a.add(b));
    return { total, terms, matches };
  });
}
