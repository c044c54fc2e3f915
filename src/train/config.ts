// The run config: ONE typed, validated object per training run (nanoGPT's "one config"), read from a JSON
// file. Every section has the paper's / Mask2Former's value as default; errors name the file and the key.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { tagsToPointsConfigSchema, wishLossConfigSchema } from '../method/config.ts';
import { MODEL_CONFIGS, parseModelConfig, type ModelConfig } from '../model/configs.ts';

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

export const runConfigSchema = z
  .object({
    /** Free text documenting the file (JSON has no comments). */
    $comment: z.union([z.string(), z.array(z.string())]).optional(),
    /** A shipped model config name (src/model/configs.ts) or a full model config object. */
    model: z.union([z.string(), z.record(z.string(), z.unknown())]),
    /** Optional torchvision ImageNet ResNet weights (.pth) for the backbone. */
    backboneWeights: z.string().nullable().default(null),
    data: z
      .object({
        /** A folder written by `wish prepare` (src/method/prepare/types.ts): the real SAM teacher. */
        prepared: z.string().nullable().default(null),
        /**
         * Instead of `prepared`: a weak-label file plus its ground truth, with SAM FAKED from the true masks
         * (src/train/oracle.ts: eroded / true / dilated). For synthetic experiments without the teacher.
         * Image file_names resolve against the weak file's folder (docs/formats.md); images match the
         * ground truth by id.
         */
        oracle: z.object({ weak: z.string(), groundTruth: z.string() }).strict().nullable().default(null),
        /** COCO ground truth for the periodic mask AP; null: no evaluation. */
        val: z.object({ annotations: z.string(), images: z.string() }).strict().nullable().default(null),
        /** Evaluate on at most this many val images (0: all). */
        valLimit: nonNegInt.default(0),
        /** Keep decoded training images in memory (small sets). */
        cacheImages: z.boolean().default(true),
        /**
         * Augmentation worker threads (0: augment between steps on the training thread). On a GPU a few
         * workers keep the next batch ready; on a small CPU they compete with the model's threads.
         */
        workers: nonNegInt.default(0),
      })
      .strict()
      .refine((d) => (d.prepared === null) !== (d.oracle === null), {
        message: 'give exactly one of "prepared" and "oracle"',
      }),
    /** Mask2Former's large-scale jitter (flip, resize scale, fixed-size crop to the model's input size). */
    augment: z
      .object({
        minScale: z.number().positive().default(0.1),
        maxScale: z.number().positive().default(2.0),
        flipProb: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .default({ minScale: 0.1, maxScale: 2.0, flipProb: 0.5 }),
    batchSize: posInt,
    iterations: posInt,
    optimizer: z
      .object({
        lr: z.number().positive().default(1e-4),
        weightDecay: z.number().nonnegative().default(0.05),
        /** Mask2Former trains the backbone at 0.1x the learning rate. */
        backboneLrMultiplier: z.number().nonnegative().default(0.1),
        /** detectron2 WarmupPolyLR as Mask2Former sets it (10 iterations, factor 1.0, power 0.9). */
        warmupIters: nonNegInt.default(10),
        warmupFactor: z.number().min(0).max(1).default(1.0),
        polyPower: z.number().nonnegative().default(0.9),
      })
      .strict()
      .default({
        lr: 1e-4,
        weightDecay: 0.05,
        backboneLrMultiplier: 0.1,
        warmupIters: 10,
        warmupFactor: 1.0,
        polyPower: 0.9,
      }),
    /** Full-model gradient clipping by L2 norm (Mask2Former: 0.01); 0 disables it. */
    gradClip: z.number().nonnegative().default(0.01),
    /** The method's settings (src/method/config.ts), including the CAM-only warm-up and the ablations. */
    loss: wishLossConfigSchema.default(() => wishLossConfigSchema.parse({})),
    tagsToPoints: tagsToPointsConfigSchema.default(() => tagsToPointsConfigSchema.parse({})),
    /** Iterations between val evaluations / checkpoints / JSONL lines (0: only at the end). */
    evalEvery: nonNegInt.default(0),
    checkpointEvery: nonNegInt.default(0),
    logEvery: posInt.default(1),
    seed: nonNegInt.default(0),
    /** Intra-op threads (0: leave the engine's default). */
    threads: nonNegInt.default(0),
    device: z.string().default('cpu'),
  })
  .strict();

export type RunConfigFile = z.infer<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;
export interface RunConfig extends Omit<RunConfigFile, 'model'> {
  model: ModelConfig;
  /** The model as given (name or object), kept for checkpoints. */
  modelSource: string | Record<string, unknown>;
}

/**
 * Validates a run config object. `where` names the source in errors; relative data paths resolve
 * against `baseDir` (the config file's folder).
 */
export function parseRunConfig(value: unknown, where = 'run config', baseDir?: string): RunConfig {
  const r = runConfigSchema.safeParse(value);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new Error(`${where}: invalid run config:\n${lines.join('\n')}`);
  }
  const c = r.data;
  let modelInput: unknown = c.model;
  if (typeof c.model === 'string') {
    modelInput = MODEL_CONFIGS[c.model];
    if (modelInput === undefined) {
      throw new Error(
        `${where}: invalid run config:\n  model: unknown model config "${c.model}" (known: ${Object.keys(MODEL_CONFIGS).join(', ')})`,
      );
    }
  }
  const model = parseModelConfig(modelInput, `${where}: key "model"`);
  const abs = (p: string): string => (baseDir === undefined ? p : path.resolve(baseDir, p));
  return {
    ...c,
    model,
    modelSource: c.model,
    backboneWeights: c.backboneWeights === null ? null : abs(c.backboneWeights),
    data: {
      ...c.data,
      prepared: c.data.prepared && abs(c.data.prepared),
      oracle: c.data.oracle && {
        weak: abs(c.data.oracle.weak),
        groundTruth: abs(c.data.oracle.groundTruth),
      },
      val: c.data.val && { annotations: abs(c.data.val.annotations), images: abs(c.data.val.images) },
    },
  };
}

/** Reads and validates a run config JSON file; paths inside resolve against the file's folder. */
export async function loadRunConfig(file: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read run config ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseRunConfig(json, file, path.dirname(path.resolve(file)));
}
