// WISH's losses: the set loss L_seg (Eq. 15) with deep supervision, the CAM classification loss L_cam
// (Eq. 17), the self-enhancement loss L_self (Eq. 19), and their sum (Eq. 20) with the CAM-only warm-up.
import * as torch from '../engine/index.ts';
import type { Generator, Tensor } from '../engine/index.ts';
import type { WishLossConfig } from './config.ts';
import { diceLoss, sigmoidCeLoss } from './mask-loss.ts';
import { matchLayers, prepareTargets, type ImageMatch, type PreparedTargets } from './matcher.ts';
import { pointSample, uncertainPointCoordsWithRandomness } from './point-sample.ts';
import { promptKl } from './prompt-kl.ts';
import { stackLayers, type StackedLayers } from './stacked-layers.ts';
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
  return setLossLayers([pred], targets, [matches], config, numMasks, generator)[0];
}

/** One matched (query, target) pair of one layer. */
interface Row {
  layer: number;
  image: number;
  query: number;
  target: number;
  level: number;
}

/**
 * Eq. 15 for several decoder layers at once (deep supervision), each with its own matches. The values
 * are those of setLoss per layer; the work is shared: one importance sampling over every matched mask
 * of every layer, one mask-target read per image, one prompt KL per label kind. Rows go image by image,
 * then layer, then match (this fixes which random points each pair gets). `stacked`: the layers
 * concatenated (stackLayers), when the caller has them.
 */
export function setLossLayers(
  layers: LayerPrediction[],
  targets: ImageTargets[],
  matchesPerLayer: ImageMatch[][],
  config: WishLossConfig,
  numMasks: number,
  generator?: Generator,
  prepared?: PreparedTargets,
  stacked?: StackedLayers,
): SetLossTerms[] {
  const L = layers.length;
  if (matchesPerLayer.length !== L)
    throw new Error(`setLoss: ${L} layers but ${matchesPerLayer.length} match sets`);
  const [B, Q, C1] = layers[0].predLogits.shape;
  const C = C1 - 1;
  return torch.tidy(() => {
    const device = layers[0].predLogits.device;
    const stack = stacked ?? stackLayers(layers, targets);
    // Class CE of every layer in one call: per-query terms (already class-weighted), summed per layer and
    // divided by the layer's total weight, which is cross_entropy's weighted mean. Targets are C
    // (no-object) unless matched.
    const weight = torch.ones([C1], { device });
    weight.indexPut_([C], config.noObjectWeight);
    const cls = new BigInt64Array(L * B * Q).fill(BigInt(C));
    const weightSum = new Float32Array(L).fill(B * Q * config.noObjectWeight);
    matchesPerLayer.forEach((layer, l) =>
      layer.forEach((m, b) =>
        m.queries.forEach((q, i) => {
          cls[(l * B + b) * Q + q] = BigInt(targets[b].classes[m.targets[i]]);
          weightSum[l] += 1 - config.noObjectWeight;
        }),
      ),
    );
    const ces = torch
      .crossEntropy(
        stack.logits.reshape(L * B * Q, C1).float(),
        torch.fromTypedArray(cls, [L * B * Q], { device }),
        { weight, reduction: 'none' },
      )
      .reshape(L, B * Q)
      .sum(1)
      .div(torch.fromTypedArray(weightSum, [L], { device }))
      .unbind(0);

    const rows: Row[] = [];
    for (let b = 0; b < B; b++) {
      for (let l = 0; l < L; l++) {
        const m = matchesPerLayer[l][b];
        m.queries.forEach((q, i) =>
          rows.push({ layer: l, image: b, query: q, target: m.targets[i], level: m.levels[i] }),
        );
      }
    }
    const M = rows.length;
    if (M === 0) {
      // Nothing matched: zero losses that still reach the predictions (so every parameter gets a gradient).
      return layers.map((pred, l) => {
        const zero = pred.predMasks.sum().mul(0);
        const zp = pred.predPrompts.point.sum().add(pred.predPrompts.box.sum()).mul(0);
        return { ce: ces[l], mask: zero, dice: zero.clone(), prompt: zp };
      });
    }
    const longOf = (xs: number[]): Tensor =>
      torch.fromTypedArray(BigInt64Array.from(xs, BigInt), [xs.length], { device });
    const layerOfRow = longOf(rows.map((r) => r.layer));
    const perLayer = (perRow: Tensor, rowLayer: Tensor): Tensor[] =>
      torch.indexAdd(torch.zeros([L], { device }), 0, rowLayer, perRow).unbind(0);

    // Mask loss on importance-sampled points of the matched predictions (Mask2Former's loss_masks).
    const allMasks = stack.masks; // [L*B, Q, h, w]
    const src = allMasks
      .flatten(0, 1)
      .indexSelect(0, longOf(rows.map((r) => (r.layer * B + r.image) * Q + r.query))); // [M, h, w]
    const { coords, labels } = torch.noGrad(() => {
      const coords = uncertainPointCoordsWithRandomness(
        src.detach(),
        config.numPoints,
        config.oversampleRatio,
        config.importanceSampleRatio,
        generator,
      ); // [M, P, 2]
      // Rows of images in the batched reader in one read, the others image by image (their rows are
      // contiguous), then back to row order.
      const reader = prepared?.masks;
      const covered = reader ? rows.flatMap((r, i) => (reader.covers(r.image) ? [i] : [])) : [];
      const parts: Tensor[] = [];
      const order: number[] = [...covered];
      if (reader && covered.length > 0) {
        const all = covered.length === M;
        parts.push(
          reader.readPairs(
            covered.map((i) => reader.rowStart[rows[i].image] + rows[i].target),
            covered.map((i) => rows[i].level),
            all ? coords : coords.indexSelect(0, longOf(covered)),
          ),
        );
        if (all) return { coords, labels: parts[0] };
      }
      for (let b = 0, start = 0; b < B; b++) {
        let end = start;
        while (end < M && rows[end].image === b) end++;
        if (end > start && !reader?.covers(b)) {
          const mine = rows.slice(start, end);
          parts.push(
            targets[b].masks.samplePairs(
              mine.map((r) => r.target),
              mine.map((r) => r.level),
              coords.narrow(0, start, end - start),
            ),
          );
          for (let i = start; i < end; i++) order.push(i);
        }
        start = end;
      }
      const joined = parts.length === 1 ? parts[0] : torch.cat(parts, 0);
      if (order.every((r, i) => r === i)) return { coords, labels: joined };
      const position = new Array<number>(M);
      order.forEach((r, i) => (position[r] = i));
      return { coords, labels: joined.indexSelect(0, longOf(position)) }; // labels [M, P]
    });
    const logits = pointSample(src, coords).float(); // [M, P]
    const masks = perLayer(sigmoidCeLoss(logits, labels, numMasks, 'none'), layerOfRow);
    const dices = perLayer(diceLoss(logits, labels, numMasks, 'none'), layerOfRow);

    // Prompt KL for matched pairs whose image has prompt latents (Eq. 15's Cost_prompt as a loss), per kind.
    const promptSum: Tensor[] = [];
    const promptCount = new Array<number>(L).fill(0);
    for (const kind of ['point', 'box'] as const) {
      const mine = rows.filter((r) => targets[r.image].prompts?.kind === kind);
      if (mine.length === 0) continue;
      const predAll =
        stack.prompts[kind] ??
        torch.cat(
          layers.map((p) => p.predPrompts[kind]),
          0,
        );
      const predZ = predAll
        .flatten(0, 1)
        .indexSelect(0, longOf(mine.map((r) => (r.layer * B + r.image) * Q + r.query)));
      // One table of this kind's target latents, image by image.
      const offsets = new Map<number, number>();
      const tables: Tensor[] = [];
      let n = 0;
      targets.forEach((t, b) => {
        if (t.prompts?.kind !== kind) return;
        offsets.set(b, n);
        n += t.prompts.latents.shape[0];
        tables.push(t.prompts.latents.detach().to(device)); // a target: SAM is frozen
      });
      const table = tables.length === 1 ? tables[0] : torch.cat(tables, 0);
      const tgtZ = table.indexSelect(0, longOf(mine.map((r) => offsets.get(r.image)! + r.target)));
      promptSum.push(
        torch.indexAdd(
          torch.zeros([L], { device }),
          0,
          longOf(mine.map((r) => r.layer)),
          promptKl(predZ.float(), tgtZ.float()),
        ),
      );
      for (const r of mine) promptCount[r.layer]++;
    }
    const promptTotals =
      promptSum.length === 0 ? null : promptSum.length === 1 ? promptSum[0] : promptSum[0].add(promptSum[1]);
    return layers.map((pred, l) => ({
      ce: ces[l],
      mask: masks[l],
      dice: dices[l],
      prompt:
        promptTotals === null || promptCount[l] === 0
          ? pred.predPrompts.point.sum().add(pred.predPrompts.box.sum()).mul(0)
          : promptTotals.select(0, l).div(promptCount[l]),
    }));
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
 * reaches the CAM through the resize. With selfCamNorm 'max' the map is relu(A) / max relu(A) (clamped
 * away from 0 and 1 so the BCE's gradient stays finite); with 'logits', sigmoid(A). The mean runs over the
 * (image, class) maps that count: all of them, less labelled classes with an empty merged mask when
 * selfSkipEmpty is on.
 */
export function selfEnhancementLoss(
  camMaps: Tensor,
  predLogits: Tensor,
  predMasks: Tensor,
  targets: ImageTargets[],
  config: Pick<WishLossConfig, 'selfScoreThreshold' | 'selfMaskThreshold'> &
    Partial<Pick<WishLossConfig, 'selfCamNorm' | 'selfSkipEmpty'>>,
): Tensor {
  const [B, C] = camMaps.shape;
  if (predLogits.shape[2] !== C + 1) {
    throw new Error(
      `selfEnhancementLoss: ${C} CAM classes but ${predLogits.shape[2]} class logits (expected C + 1)`,
    );
  }
  if (targets.length !== B)
    throw new Error(`selfEnhancementLoss: ${B} images but ${targets.length} target sets`);
  const norm = config.selfCamNorm ?? 'max';
  const skipEmpty = config.selfSkipEmpty ?? true;
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
    const perPixel =
      norm === 'max'
        ? torch.binaryCrossEntropy(
            cams
              .relu()
              .div(cams.relu().amax([2, 3], true).add(1e-6))
              .clamp(1e-4, 1 - 1e-4),
            target,
            { reduction: 'none' },
          )
        : torch.binaryCrossEntropyWithLogits(cams, target, { reduction: 'none' });
    const perMap = perPixel.mean([2, 3]); // [B, C]
    if (!skipEmpty) return perMap.mean();
    const present = imageClassTargets(targets, C, camMaps.device); // [B, C]
    const empty = target.amax([2, 3]).eq(0).float(); // [B, C]
    const counts = torch.ones([B, C], { device: camMaps.device }).sub(present.mul(empty)); // 1 = counted
    return perMap.mul(counts).sum().div(counts.sum().clampMin(1));
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
  /** The same terms as one detached [n] tensor, in the order of termNames: one copy reads them all. */
  termValues: Tensor;
  termNames: string[];
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
    // The terms (0-d) are weighted and summed as one vector: a few ops instead of a few per term.
    const termNames: string[] = [];
    const parts: Tensor[] = [];
    const weights: number[] = [];
    const add = (name: string, value: Tensor, w: number): void => {
      termNames.push(name);
      parts.push(value);
      weights.push(w);
    };
    let matches: ImageMatch[] = [];
    if (phase.seg) {
      const numMasks = numMasksOf(targets);
      const layers: [string, LayerPrediction][] = [['', pred]];
      if (config.deepSupervision) (pred.aux ?? []).forEach((l, i) => layers.push([`_${i}`, l]));
      const prepared = prepareTargets(targets, pred.predLogits.device); // the target side, once for all layers
      const preds = layers.map(([, layer]) => layer);
      const stacked = stackLayers(preds, targets); // read by the matcher and the loss
      const perLayerMatches = matchLayers(preds, targets, config.matcher, opts.generator, prepared, stacked);
      matches = perLayerMatches[0];
      const t = setLossLayers(
        preds,
        targets,
        perLayerMatches,
        config,
        numMasks,
        opts.generator,
        prepared,
        stacked,
      );
      layers.forEach(([suffix], l) => {
        add(`loss_ce${suffix}`, t[l].ce, config.classWeight);
        add(`loss_mask${suffix}`, t[l].mask, config.maskCeWeight);
        add(`loss_dice${suffix}`, t[l].dice, config.diceWeight);
        add(`loss_prompt${suffix}`, t[l].prompt, config.promptWeight);
      });
    }
    if (phase.cam) add('loss_cam', camLoss(pred.camLogits, targets), config.camWeight);
    if (phase.self && config.selfWeight > 0) {
      add(
        'loss_self',
        selfEnhancementLoss(pred.camMaps, pred.predLogits, pred.predMasks, targets, config),
        config.selfWeight,
      );
    }
    const device = pred.predLogits.device;
    const weighted = torch
      .stack(parts.map((p) => p.float()))
      .mul(torch.fromTypedArray(Float32Array.from(weights), [weights.length], { device })); // [n]
    const total = weighted.sum();
    const termValues = weighted.detach();
    const values = termValues.unbind(0);
    const terms = Object.fromEntries(termNames.map((name, i) => [name, values[i]]));
    return { total, terms, termValues, termNames, matches };
  });
}
