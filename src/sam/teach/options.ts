// Settings of a `wish teach` run, with SAM's recipe where it applies (AdamW, linear warm-up, weight decay
// 0.1; prompts from masks) scaled to a CPU run on 128 px synthetic scenes.
import { z } from 'zod';
import { DEFAULT_PROMPT_MIX } from './prompts.ts';

export const teachOptionsSchema = z
  .object({
    /** Seed of the training scenes (and of the weight init); evaluation uses evalSeed. */
    seed: z.number().int(),
    evalSeed: z.number().int(),
    steps: z.number().int().positive(),
    imagesPerStep: z.number().int().positive(),
    maxPromptsPerImage: z.number().int().positive(),
    /** Scene sides to train on, cycled step by step (images are resized to the model's input). */
    sizes: z.array(z.number().int().min(16)).min(1),
    lr: z.number().positive(),
    weightDecay: z.number().nonnegative(),
    warmupSteps: z.number().int().nonnegative(),
    /** Cosine decay to this fraction of lr at the last step. */
    finalLrFactor: z.number().min(0).max(1),
    clipGradNorm: z.number().positive(),
    iouWeight: z.number().nonnegative(),
    pixelLoss: z.enum(['bce', 'focal']),
    pixelWeight: z.number().nonnegative(),
    diceWeight: z.number().nonnegative(),
    pointProb: z.number().min(0).max(1),
    boxProb: z.number().min(0).max(1),
    multiPoints: z.number().int().min(2),
    checkpointEvery: z.number().int().positive(),
    /** Start from these SAM weights (safetensors/.pth with official keys) instead of a random init. */
    init: z.string().optional(),
    threads: z.number().int().positive().optional(),
  })
  .strict();

export type TeachOptions = z.infer<typeof teachOptionsSchema>;

export const TEACH_DEFAULTS: TeachOptions = {
  seed: 1,
  evalSeed: 1001,
  steps: 2000,
  imagesPerStep: 8,
  maxPromptsPerImage: 3,
  sizes: [128, 96],
  lr: 1e-3,
  weightDecay: 0.1,
  warmupSteps: 50,
  finalLrFactor: 0.05,
  clipGradNorm: 1,
  iouWeight: 1,
  pixelLoss: 'bce',
  pixelWeight: 1,
  diceWeight: 1,
  pointProb: DEFAULT_PROMPT_MIX.point,
  boxProb: DEFAULT_PROMPT_MIX.box,
  multiPoints: DEFAULT_PROMPT_MIX.multiPoints,
  checkpointEvery: 50,
};

export function resolveTeachOptions(partial: Partial<TeachOptions>, source = 'teach options'): TeachOptions {
  const merged = {
    ...TEACH_DEFAULTS,
    ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)),
  };
  const r = teachOptionsSchema.safeParse(merged);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  '${i.path.join('.')}': ${i.message}`);
    throw new Error(`${source}: invalid settings:\n${lines.join('\n')}`);
  }
  if (r.data.pointProb + r.data.boxProb > 1)
    throw new Error(`${source}: pointProb + boxProb must be at most 1`);
  return r.data;
}
