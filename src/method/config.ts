// Settings of the WISH matcher, losses and tag-to-point conversion, one validated object each.
// Every weight and threshold is a setting whose default is the paper's value (section 5.1.2) or, where
// the paper is silent, Mask2Former's (matching and loss) or S2C's (CAM peaks), as DESIGN.md section 4
// reads them. An ablation of the paper's Table 4 is a change here, not in code.
import { z } from 'zod';

/** Which SAM mask supervises a target: the min-cost one of the three (Eq. 13), or a fixed level. */
export const samLevelSchema = z.union([z.literal('adaptive'), z.literal(0), z.literal(1), z.literal(2)]);
export type SamLevel = z.infer<typeof samLevelSchema>;

const weight = z.number().nonnegative();
const positiveInt = z.number().int().positive();
const unit = z.number().min(0).max(1);

export const matcherConfigSchema = z
  .object({
    /** alpha of Eq. 14: weight of the class cost (minus the softmax probability of the target class). */
    classWeight: weight.default(2),
    /** beta of Eq. 14: weight of the prompt KL cost (Eq. 12). 0 is the "no prompt cost" ablation. */
    promptWeight: weight.default(5),
    /**
     * gamma of Eq. 14: weight of the mask cost (Eq. 13). The distance d inside the min is
     * maskCeWeight * CE + maskDiceWeight * dice; with gamma 5 and 1 : 1 inside, the effective weights are
     * Mask2Former's 5 (CE) and 5 (dice), the paper's "mask 5". (Reading 5 inside d AND gamma 5 would
     * count Mask2Former's weights twice.)
     */
    maskWeight: weight.default(5),
    maskCeWeight: weight.default(1),
    maskDiceWeight: weight.default(1),
    /** Points sampled uniformly per image for the mask cost (Mask2Former: 112 * 112). */
    numPoints: positiveInt.default(12544),
    /**
     * Draw the matching points once per iteration for every decoder layer, so the targets are read once
     * (a saving where reads are dear, e.g. SamMaskTargets). Mask2Former draws fresh points per layer.
     */
    sharePointsAcrossLayers: z.boolean().default(false),
    /** 'adaptive' = min over SAM's three masks (Eq. 13); 0 / 1 / 2 = that level only (Table 4, B-D). */
    samLevel: samLevelSchema.default('adaptive'),
  })
  .strict();
export type MatcherConfig = z.infer<typeof matcherConfigSchema>;

export const wishLossConfigSchema = z
  .object({
    matcher: matcherConfigSchema.default(() => matcherConfigSchema.parse({})),
    /** Eq. 15 weights (paper 5.1.2: class 2, mask 5, prompt 5; Mask2Former: CE 5, dice 5). */
    classWeight: weight.default(2),
    maskCeWeight: weight.default(5),
    diceWeight: weight.default(5),
    promptWeight: weight.default(5),
    /** Mask2Former's eos_coef: the no-object class's weight in the class cross-entropy. */
    noObjectWeight: weight.default(0.1),
    /** Importance-sampled points per matched mask for the mask loss (Mask2Former). */
    numPoints: positiveInt.default(12544),
    oversampleRatio: z.number().min(1).default(3),
    importanceSampleRatio: unit.default(0.75),
    /** Deep supervision: the same loss, with its own matching, on every intermediate decoder output. */
    deepSupervision: z.boolean().default(true),
    /** Eq. 17 and Eq. 19 weights in Eq. 20 (the paper sums them with weight 1). */
    camWeight: weight.default(1),
    /** 0 is the "no L_self" ablation. */
    selfWeight: weight.default(1),
    /**
     * Eq. 19: a query joins its best class's merged mask only when that class's softmax score is at
     * least this (a no-object best class never joins). Our reading; the paper leaves it open.
     */
    selfScoreThreshold: unit.default(0.5),
    /** Eq. 19: pixel threshold on the predicted mask probability for the binary mask. */
    selfMaskThreshold: unit.default(0.5),
    /**
     * How a CAM enters Eq. 19's BCE. 'max' (default, our reading): relu(A) / max relu(A) per image and
     * class, the [0, 1] map section 4.3 reads peaks from, so L_self shapes the map without pulling down
     * the GAP logit that L_cam trains (with raw logits the pixel-wise BCE against a mostly-zero target
     * drives every CAM negative and L_cam rises above chance: measured on cpu-small). 'logits': the
     * sigmoid of the raw CAM logits.
     */
    selfCamNorm: z.enum(['max', 'logits']).default('max'),
    /**
     * A class the image is labelled with but that no confident query predicts has an empty merged mask:
     * true (default) leaves that class out of L_self (nothing to learn from yet) instead of teaching its
     * CAM that the class is nowhere.
     */
    selfSkipEmpty: z.boolean().default(true),
    /** Iterations with only L_cam (paper: 3 epochs on VOC, 30k iterations on COCO). */
    warmupIterations: z.number().int().nonnegative().default(0),
  })
  .strict();
export type WishLossConfig = z.infer<typeof wishLossConfigSchema>;
export type WishLossConfigInput = z.input<typeof wishLossConfigSchema>;

export const tagsToPointsConfigSchema = z
  .object({
    /** tau: peaks of the [0, 1]-normalised CAM below this are dropped (section 4.3; S2C: 0.5). */
    tau: unit.default(0.5),
    /** Minimum distance between kept peaks, as a fraction of the augmented image's longer side (S2C: 20 px at 512). */
    minPeakDistance: z
      .number()
      .min(0)
      .max(1)
      .default(20 / 512),
    /** The CAM is upsampled (bilinear) to the augmented image size divided by this before the 3x3 maximum filter. */
    peakGridStride: positiveInt.default(1),
    /** At most this many peaks per tag class go to SAM (the highest). */
    maxPeaksPerClass: positiveInt.default(20),
    /** SAM mask level (0-2) whose masks are compared (S2C: the middle one). */
    groupLevel: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    /** Peaks whose masks overlap with IoU above this are one instance. */
    mergeIoU: unit.default(0.5),
    /** SAM's mask threshold on logits. */
    maskThreshold: z.number().default(0),
  })
  .strict();
export type TagsToPointsConfig = z.infer<typeof tagsToPointsConfigSchema>;

/** Parses a settings object (a config file's section) with a clear error naming where it came from. */
export function parseSettings<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new Error(`invalid settings in ${where}:\n${lines.join('\n')}`);
  }
  return r.data;
}

export const matcherConfig = (v: unknown = {}, where = 'matcher settings'): MatcherConfig =>
  parseSettings(matcherConfigSchema, v, where);
export const wishLossConfig = (v: unknown = {}, where = 'loss settings'): WishLossConfig =>
  parseSettings(wishLossConfigSchema, v, where);
export const tagsToPointsConfig = (v: unknown = {}, where = 'tags-to-points settings'): TagsToPointsConfig =>
  parseSettings(tagsToPointsConfigSchema, v, where);
