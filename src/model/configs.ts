// Model configs: one typed, validated object per model (zod), and the two shipped ones. `paper` is
// Mask2Former's R50 instance-segmentation setup as WISH uses it (section 5.1.2); `cpu-small` is sized from
// DESIGN section 4's CPU measurements (96 px, 3 decoder layers, 16 queries, 64-wide mask features).
import { z } from 'zod';

const posInt = z.number().int().positive();

export const backboneConfigSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('resnet'),
    depth: z.union([z.literal(18), z.literal(34), z.literal(50)]),
    /** channels of the stem; torchvision's 64 (smaller only for tests) */
    baseWidth: posInt.default(64),
    norm: z.enum(['frozen', 'batch']).default('frozen'),
    /** detectron2's FREEZE_AT (0: train all, 1: freeze the stem, 2: also res2, ...) */
    freezeAt: z.number().int().min(0).max(5).default(0),
  }),
  z.object({
    kind: z.literal('small-cnn'),
    widths: z.tuple([posInt, posInt, posInt, posInt]),
    depth: posInt.default(2),
  }),
]);

export const pixelDecoderConfigSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('msdeform'),
    convDim: posInt,
    maskDim: posInt,
    encoderLayers: posInt,
    heads: posInt,
    dimFeedforward: posInt,
    points: posInt,
  }),
  z.object({ kind: z.literal('fpn'), convDim: posInt, maskDim: posInt }),
]);

export const decoderConfigSchema = z.object({
  hiddenDim: posInt,
  numQueries: posInt,
  nHeads: posInt,
  dimFeedforward: posInt,
  layers: posInt,
  /** layers of the mask and prompt MLPs */
  headLayers: posInt.default(3),
});

export const modelConfigSchema = z
  .object({
    numClasses: posInt,
    /** SAM's prompt-embedding width (256 for every released SAM) */
    promptDim: posInt,
    /** square training/inference input side in pixels (a multiple of 32) */
    inputSize: posInt.refine((v) => v % 32 === 0, 'must be a multiple of 32'),
    backbone: backboneConfigSchema,
    /** the backbone map the CAM head reads: the last one (res5) in the paper; a finer one gives finer CAMs */
    camLevel: z.enum(['res3', 'res4', 'res5']).default('res5'),
    pixelDecoder: pixelDecoderConfigSchema,
    decoder: decoderConfigSchema,
  })
  .superRefine((c, ctx) => {
    if (c.decoder.hiddenDim % c.decoder.nHeads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['decoder', 'nHeads'],
        message: `must divide hiddenDim ${c.decoder.hiddenDim}`,
      });
    }
    if (c.decoder.hiddenDim % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['decoder', 'hiddenDim'],
        message: 'must be even (sine position encoding)',
      });
    }
    const pd = c.pixelDecoder;
    if (pd.convDim % 2 !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['pixelDecoder', 'convDim'],
        message: 'must be even (sine position encoding)',
      });
    }
    if (pd.kind === 'msdeform' && pd.convDim % pd.heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['pixelDecoder', 'heads'],
        message: `must divide convDim ${pd.convDim}`,
      });
    }
  });

export type ModelConfig = z.infer<typeof modelConfigSchema>;
/** What a config file may hold: defaults may be left out. */
export type ModelConfigInput = z.input<typeof modelConfigSchema>;

/** Validates a model config; the error names the source and every offending key. */
export function parseModelConfig(value: unknown, source = 'model config'): ModelConfig {
  const r = modelConfigSchema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map(
    (i) => `  ${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`,
  );
  throw new Error(`${source}: invalid model config:\n${lines.join('\n')}`);
}

/** Mask2Former R50 (paper runs): deformable pixel decoder with 6 layers, 9 decoder layers, 100 queries. */
export const paper: ModelConfigInput = {
  numClasses: 80,
  promptDim: 256,
  inputSize: 512,
  backbone: { kind: 'resnet', depth: 50, norm: 'frozen', freezeAt: 0 },
  pixelDecoder: {
    kind: 'msdeform',
    convDim: 256,
    maskDim: 256,
    encoderLayers: 6,
    heads: 8,
    dimFeedforward: 1024,
    points: 4,
  },
  decoder: { hiddenDim: 256, numQueries: 100, nHeads: 8, dimFeedforward: 2048, layers: 9 },
};

/** Trains on 2 CPU cores in minutes (DESIGN section 4): small CNN, FPN, 3 decoder layers, 16 queries. */
export const cpuSmall: ModelConfigInput = {
  numClasses: 4,
  promptDim: 256,
  inputSize: 96,
  backbone: { kind: 'small-cnn', widths: [32, 64, 128, 192], depth: 2 },
  pixelDecoder: { kind: 'fpn', convDim: 64, maskDim: 64 },
  decoder: { hiddenDim: 128, numQueries: 16, nHeads: 4, dimFeedforward: 512, layers: 3 },
};

export const MODEL_CONFIGS: Readonly<Record<string, ModelConfigInput>> = { paper, 'cpu-small': cpuSmall };
