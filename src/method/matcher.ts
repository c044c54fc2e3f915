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
//
// Every term is computed for the whole batch with a few tensor ops (the per-image cost matrices are
// small); the min over levels, the weighted sum and the assignment run in JS on the copied values.
import * as torch from '../engine/index.ts';
import type { Generator, Tensor } from '../engine/index.ts';
import type { MatcherConfig } from './config.ts';
import { BatchedFrameTargets } from './batch-targets.ts';
import { linearSumAssignment } from './hungarian.ts';
import { pointSample, uniformPoints } from './point-sample.ts';
import { stackLayers, type StackedLayers } from './stacked-layers.ts';
import type { ImageTargets, LayerPrediction, PromptKind } from './types.ts';

/** One image's match. */
export interface ImageMatch {
  /** Matched query indices, ascending. */
  queries: number[];
  /** targets[i] is the target matched to queries[i]. */
  targets: number[];
  /** levels[i]: the mask level (0-2 of SAM's masks; 0 for full masks) that supervises the pair. */
  levels: number[];
}

/** The cost matrices of one image; all [Q, T] row-major. */
export interface ImageCosts {
  total: Float32Array;
  classCost: Float32Array;
  /** Zeros when the image has no prompt latents or the prompt weight is 0. */
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

/** Which of the target's mask levels the pair may use (null: the min over all). */
function levelChoice(config: MatcherConfig, levels: number): number | null {
  if (config.samLevel === 'adaptive' || levels === 1) return null;
  if (config.samLevel >= levels) {
    throw new Error(`matcher: samLevel ${config.samLevel} but the targets have ${levels} mask level(s)`);
  }
  return config.samLevel;
}

/** The target side of the prompt cost for one label kind: every image's latents of that kind in one table. */
interface PromptTable {
  /** [N, 2*Dp] softmax of the target latents. */
  p: Tensor;
  /** [N] sum p log p. */
  negEntropy: Float32Array;
  /** Row of image b's first target. */
  offset: Map<number, number>;
  rows: number;
}

/**
 * What the matcher needs from the targets, computed once per batch and reused by every decoder layer
 * (the tensors live in the caller's tidy scope).
 */
export interface PreparedTargets {
  prompts: Record<PromptKind, PromptTable | null>;
  /** Every image's mask targets in one reader, when they are FrameMaskTargets of one size. */
  masks: BatchedFrameTargets | null;
}

function checkTargets(targets: ImageTargets[], numClasses: number): void {
  targets.forEach((t, b) => {
    const T = t.classes.length;
    if (t.masks.count !== T) {
      throw new Error(`matcher: image ${b} has ${T} target classes but ${t.masks.count} mask targets`);
    }
    for (const c of t.classes) {
      if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) {
        throw new Error(`matcher: image ${b}: target class ${c} outside [0, ${numClasses})`);
      }
    }
    if (t.prompts && t.prompts.latents.shape[0] !== T) {
      throw new Error(
        `matcher: image ${b} has ${T} targets but ${t.prompts.latents.shape[0]} prompt latents`,
      );
    }
  });
}

/** The target-side prompt tables (Eq. 12's softmax(Z) and its entropy term). Call without gradients. */
export function prepareTargets(targets: ImageTargets[], device?: string): PreparedTargets {
  const table = (kind: PromptKind): PromptTable | null => {
    const offset = new Map<number, number>();
    const parts: Tensor[] = [];
    let rows = 0;
    targets.forEach((t, b) => {
      if (t.prompts?.kind !== kind || t.classes.length === 0) return;
      offset.set(b, rows);
      rows += t.classes.length;
      parts.push(t.prompts.latents.detach().float().to({ device }));
    });
    if (rows === 0) return null;
    return torch.noGrad(() => {
      const z = parts.length === 1 ? parts[0] : torch.cat(parts, 0); // [N, 2, Dp]
      const logP = z.logSoftmax(-1).flatten(1); // [N, 2*Dp]
      const p = logP.exp();
      return { p, negEntropy: p.mul(logP).sum(1).toFloat32Array(), offset, rows };
    });
  };
  return {
    prompts: { point: table('point'), box: table('box') },
    masks: BatchedFrameTargets.tryBuild(targets, device),
  };
}

/** Every image's mask targets at its matching points, padded per image to R = the largest T * K. */
export interface MatchTargetRead {
  /** [B, R, P]; rows t * K + k of image b, zero rows after its own. */
  tgt: Tensor;
  maxRows: number;
}

/**
 * Reads the targets of the mask cost (Eq. 13) at coords [B, P, 2]: the batched reader's images in one
 * read, the others image by image, then a zero row, padded per image by one index_select. Call without
 * gradients; the result lives in the caller's tidy scope (it may serve every layer when the layers share
 * their points).
 */
export function readMatchTargets(
  targets: ImageTargets[],
  coords: Tensor,
  prepared?: PreparedTargets,
): MatchTargetRead {
  const B = targets.length;
  const P = coords.shape[1];
  const device = coords.device;
  return torch.noGrad(() =>
    torch.tidy(() => {
      const reader = prepared ? prepared.masks : BatchedFrameTargets.tryBuild(targets, device);
      const rowsOf = targets.map((t) => t.classes.length * t.masks.levels);
      const maxRows = Math.max(1, ...rowsOf);
      const pieces: Tensor[] = [];
      const base = new Array<number>(B).fill(0);
      let offset = 0;
      if (reader) {
        pieces.push(reader.readAll(coords).reshape(reader.rows * reader.levels, P));
        offset = reader.rows * reader.levels;
      }
      targets.forEach((t, b) => {
        if (rowsOf[b] === 0) return;
        if (reader?.covers(b)) {
          base[b] = reader.rowStart[b] * reader.levels;
          return;
        }
        pieces.push(
          t.masks
            .sampleAll(coords.narrow(0, b, 1))
            .reshape(rowsOf[b], P)
            .float(),
        );
        base[b] = offset;
        offset += rowsOf[b];
      });
      pieces.push(torch.zeros([1, P], { device }));
      const pad = new BigInt64Array(B * maxRows).fill(BigInt(offset)); // the zero row
      for (let b = 0; b < B; b++)
        for (let j = 0; j < rowsOf[b]; j++) pad[b * maxRows + j] = BigInt(base[b] + j);
      const tgt = torch
        .cat(pieces, 0)
        .indexSelect(0, torch.fromTypedArray(pad, [B * maxRows], { device }))
        .reshape(B, maxRows, P);
      return { tgt, maxRows };
    }),
  );
}

/**
 * Eq. 11-14 for every image of one layer. coords [B, P, 2]: each image's uniform points. Returns the
 * cost matrices image by image (images without targets give empty ones).
 */
export function layerCosts(
  pred: LayerPrediction,
  targets: ImageTargets[],
  coords: Tensor,
  config: MatcherConfig,
  prepared?: PreparedTargets,
): ImageCosts[] {
  return layersCosts([pred], targets, coords, config, prepared)[0];
}

/**
 * Eq. 11-14 for every layer and image at once: costs[l][b]. coords [L*B, P, 2] holds each layer's points
 * (layer by layer, as the layers draw them), or [B, P, 2] points shared by every layer. `stacked`: the
 * layers concatenated (stackLayers), when the caller has them already. Each layer's values are
 * those of matching it alone: the layers only share the tensor ops (one point sample, one target read,
 * one batched matmul for all of them; at cpu-small sizes the per-op cost, not the arithmetic, dominates).
 */
export function layersCosts(
  layers: LayerPrediction[],
  targets: ImageTargets[],
  coords: Tensor,
  config: MatcherConfig,
  prepared?: PreparedTargets,
  stacked?: StackedLayers,
): ImageCosts[][] {
  const L = layers.length;
  const [B, Q, C1] = layers[0].predLogits.shape;
  if (targets.length !== B)
    throw new Error(`matcher: ${B} images in the batch but ${targets.length} target sets`);
  const sharedPoints = L > 1 && coords.shape[0] === B;
  if (coords.ndim !== 3 || (coords.shape[0] !== L * B && !sharedPoints)) {
    throw new Error(`matcher: coords must be [${L * B} or ${B}, P, 2], got [${coords.shape.join(', ')}]`);
  }
  checkTargets(targets, C1 - 1);
  const P = coords.shape[1];
  return torch.noGrad(() =>
    torch.tidy(() => {
      const device = layers[0].predLogits.device;
      const prep = prepared ?? prepareTargets(targets, device);
      const stack = stacked ?? stackLayers(layers, targets);
      // Eq. 11 inputs: class probabilities [L*B, Q, C+1].
      const probs = stack.logits.float().softmax(-1).toFloat32Array();

      // Eq. 12 inputs: the cross term sum p log q for every (query, target) of a kind, one matmul per kind
      // (pairs across images are computed too and ignored: cheaper than one small matmul per image).
      const cross: Record<PromptKind, Float32Array | null> = { point: null, box: null };
      if (config.promptWeight > 0) {
        for (const kind of ['point', 'box'] as const) {
          const table = prep.prompts[kind];
          const pred = stack.prompts[kind];
          if (!table || !pred) continue;
          const logQ = pred.float().logSoftmax(-1).flatten(2).flatten(0, 1); // [L*B*Q, 2*Dp]
          cross[kind] = logQ.matmul(table.p.t()).toFloat32Array(); // [L*B*Q, N]
        }
      }

      // Eq. 13 inputs: Mask2Former's distance to every target level on each image's points. Targets are
      // padded to the batch's largest T*K and the CE / dice products taken in one batched matmul. One target
      // read serves every layer: image b's points of all layers in one row ([B, L*P, 2]). With shared
      // points the layers' queries are one image's channels instead ([B, L*Q, h, w]: one grid per image).
      const [, , h, w] = stack.masks.shape;
      const maps = sharedPoints
        ? stack.masks
            .reshape(L, B, Q, h, w)
            .transpose(0, 1)
            .reshape(B, L * Q, h, w)
        : stack.masks;
      const Qx = sharedPoints ? L * Q : Q;
      const x = pointSample(maps, coords).float(); // [L*B, Q, P], or [B, L*Q, P] with shared points
      const s = x.sigmoid();
      const imagePoints =
        sharedPoints || L === 1
          ? coords
          : coords
              .reshape(L, B, P, 2)
              .transpose(0, 1)
              .reshape(B, L * P, 2);
      const { tgt: read, maxRows } = readMatchTargets(targets, imagePoints, prep); // [B, R, L*P] or [B, R, P]
      const tgt =
        sharedPoints || L === 1
          ? read
          : read
              .reshape(B, maxRows, L, P)
              .permute([2, 0, 1, 3])
              .reshape(L * B, maxRows, P); // [L*B, R, P]
      const prods = torch.cat([x, s], 1).bmm(tgt.transpose(1, 2)); // [n, 2Qx, R]: <x, t> and <sigmoid x, t>
      const ce = torch
        .softplus(x)
        .sum(2, true)
        .sub(prods.narrow(1, 0, Qx))
        .div(P); // BCE = softplus(x) - x t
      const den = s.sum(2, true).add(tgt.sum(2).unsqueeze(1)).add(1);
      const dice = prods.narrow(1, Qx, Qx).mul(2).add(1).div(den).rsub(1);
      const dist = ce.mul(config.maskCeWeight).add(dice.mul(config.maskDiceWeight)).toFloat32Array(); // [n, Qx, R]
      // Row of (layer, image) in dist, in units of Q queries.
      const distRow = (l: number, b: number): number => (sharedPoints ? b * L + l : l * B + b);

      return layers.map((_, l) =>
        targets.map((t, b) => {
          const T = t.classes.length;
          const K = t.masks.levels;
          const out: ImageCosts = {
            total: new Float32Array(Q * T),
            classCost: new Float32Array(Q * T),
            promptCost: new Float32Array(Q * T),
            maskCost: new Float32Array(Q * T),
            level: new Int32Array(Q * T),
            maskCostPerLevel: new Float32Array(Q * T * K),
            queries: Q,
            targets: T,
            levels: K,
          };
          if (T === 0) return out;
          const fixed = levelChoice(config, K);
          const kind = t.prompts?.kind;
          const table = kind ? prep.prompts[kind] : null;
          const crossK = kind ? cross[kind] : null;
          for (let q = 0; q < Q; q++) {
            const bq = (l * B + b) * Q + q;
            const dq = distRow(l, b) * Q + q;
            for (let j = 0; j < T; j++) {
              const i = q * T + j;
              out.classCost[i] = -probs[bq * C1 + t.classes[j]];
              if (table && crossK) {
                const n = table.offset.get(b)! + j;
                out.promptCost[i] = table.negEntropy[n] - crossK[bq * table.rows + n];
              }
              let best = 0;
              for (let k = 0; k < K; k++) {
                const d = dist[dq * maxRows + j * K + k];
                out.maskCostPerLevel[i * K + k] = d;
                if (d < out.maskCostPerLevel[i * K + best]) best = k;
              }
              const level = fixed ?? best;
              out.level[i] = level;
              out.maskCost[i] = out.maskCostPerLevel[i * K + level];
              out.total[i] =
                config.classWeight * out.classCost[i] +
                config.promptWeight * out.promptCost[i] +
                config.maskWeight * out.maskCost[i];
            }
          }
          return out;
        }),
      );
    }),
  );
}

/**
 * The Eq. 14 cost matrices of one image, for tests and inspection. logits [Q, C+1], masks [Q, h, w],
 * prompts [Q, 2, Dp] (the image's label kind, or null for no prompt cost); coords [1, P, 2].
 */
export function imageCosts(
  logits: Tensor,
  masks: Tensor,
  prompts: Tensor | null,
  target: ImageTargets,
  coords: Tensor,
  config: MatcherConfig,
): ImageCosts {
  return torch.tidy(() => {
    const p = (prompts ?? torch.zeros([logits.shape[0], 2, 1], { device: logits.device })).unsqueeze(0);
    const pred: LayerPrediction = {
      predLogits: logits.unsqueeze(0),
      predMasks: masks.unsqueeze(0),
      predPrompts: { point: p, box: p },
    };
    return layerCosts(pred, [prompts ? target : { ...target, prompts: null }], coords, config)[0];
  });
}

/** Matches one image's queries to its targets from its costs. */
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
 * with WISH's costs), with fresh uniform points per image. `prepared` (from prepareTargets) saves
 * recomputing the target side when several layers are matched.
 */
export function matchLayer(
  pred: LayerPrediction,
  targets: ImageTargets[],
  config: MatcherConfig,
  generator?: Generator,
  prepared?: PreparedTargets,
): ImageMatch[] {
  return matchLayers([pred], targets, config, generator, prepared)[0];
}

/**
 * matchLayer for every decoder layer of an iteration: matches[l][b]. Each layer draws its own uniform
 * points per image, as Mask2Former does (in one draw: the same numbers as one draw per layer in layer
 * order), or with sharePointsAcrossLayers one set for all layers. `stacked`: the layers concatenated
 * (stackLayers), when the caller has them.
 */
export function matchLayers(
  layers: LayerPrediction[],
  targets: ImageTargets[],
  config: MatcherConfig,
  generator?: Generator,
  prepared?: PreparedTargets,
  stacked?: StackedLayers,
): ImageMatch[][] {
  const B = layers[0].predLogits.shape[0];
  if (targets.length !== B)
    throw new Error(`matcher: ${B} images in the batch but ${targets.length} target sets`);
  const n = config.sharePointsAcrossLayers ? B : layers.length * B;
  const costs = torch.tidy(() => {
    const coords = uniformPoints(n, config.numPoints, generator, layers[0].predMasks.device); // [n, P, 2]
    return layersCosts(layers, targets, coords, config, prepared, stacked);
  });
  return costs.map((layer) => layer.map((c, b) => assign(c, `matcher cost of image ${b}`)));
}
