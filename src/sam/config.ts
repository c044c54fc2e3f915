// SAM's sizes in one typed, validated object: the official presets (vit_b / vit_l / vit_h, as
// segment_anything/build_sam.py builds them), a reader for config JSON files in the fixture's format
// (snake_case keys, optionally wrapped in {"config": {...}} like tiny_sam_config.json), and inference of
// every size the state dict's shapes say, the rest coming from the JSON or the matching preset.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export interface SamConfig {
  /** Side L of the square model input (1024 official). */
  imgSize: number;
  patchSize: number;
  encoderEmbedDim: number;
  encoderDepth: number;
  encoderNumHeads: number;
  encoderMlpRatio: number;
  /** Blocks with global attention; the others use windowed attention. */
  encoderGlobalAttnIndexes: number[];
  windowSize: number;
  useRelPos: boolean;
  qkvBias: boolean;
  /** LayerNorm eps inside the ViT blocks (build_sam sets 1e-6; the class default is 1e-5). */
  encoderLayernormEps: number;
  /** Channels of the image embedding (the neck's output) and of every prompt token. */
  promptEmbedDim: number;
  maskInChans: number;
  decoderTransformerDepth: number;
  decoderMlpDim: number;
  decoderNumHeads: number;
  attentionDownsampleRate: number;
  numMultimaskOutputs: number;
  iouHeadDepth: number;
  iouHeadHiddenDim: number;
  /** RGB, 0..255 scale. */
  pixelMean: [number, number, number];
  pixelStd: [number, number, number];
  maskThreshold: number;
}

export type SamPresetName = 'vit_b' | 'vit_l' | 'vit_h';

// Values every official size shares (build_sam.py's _build_sam and its module defaults).
const COMMON = {
  imgSize: 1024,
  patchSize: 16,
  encoderMlpRatio: 4,
  windowSize: 14,
  useRelPos: true,
  qkvBias: true,
  encoderLayernormEps: 1e-6,
  promptEmbedDim: 256,
  maskInChans: 16,
  decoderTransformerDepth: 2,
  decoderMlpDim: 2048,
  decoderNumHeads: 8,
  attentionDownsampleRate: 2,
  numMultimaskOutputs: 3,
  iouHeadDepth: 3,
  iouHeadHiddenDim: 256,
  pixelMean: [123.675, 116.28, 103.53] as [number, number, number],
  pixelStd: [58.395, 57.12, 57.375] as [number, number, number],
  maskThreshold: 0,
} satisfies Partial<SamConfig>;

export const SAM_PRESETS: Readonly<Record<SamPresetName, Readonly<SamConfig>>> = {
  vit_b: {
    ...COMMON,
    encoderEmbedDim: 768,
    encoderDepth: 12,
    encoderNumHeads: 12,
    encoderGlobalAttnIndexes: [2, 5, 8, 11],
  },
  vit_l: {
    ...COMMON,
    encoderEmbedDim: 1024,
    encoderDepth: 24,
    encoderNumHeads: 16,
    encoderGlobalAttnIndexes: [5, 11, 17, 23],
  },
  vit_h: {
    ...COMMON,
    encoderEmbedDim: 1280,
    encoderDepth: 32,
    encoderNumHeads: 16,
    encoderGlobalAttnIndexes: [7, 15, 23, 31],
  },
};

/** A copy of a preset (safe to modify). */
export function samPreset(name: SamPresetName): SamConfig {
  const p = SAM_PRESETS[name];
  if (!p) throw new Error(`unknown SAM preset '${String(name)}' (expected vit_b, vit_l or vit_h)`);
  return cloneConfig(p);
}

function cloneConfig(c: Readonly<SamConfig>): SamConfig {
  return {
    ...c,
    encoderGlobalAttnIndexes: [...c.encoderGlobalAttnIndexes],
    pixelMean: [...c.pixelMean],
    pixelStd: [...c.pixelStd],
  };
}

// ---- JSON form (snake_case, the fixture's tiny_sam_config.json "config" object) ------------------------

/** camelCase field -> snake_case JSON key. */
export const JSON_KEYS: Readonly<Record<keyof SamConfig, string>> = {
  imgSize: 'img_size',
  patchSize: 'patch_size',
  encoderEmbedDim: 'encoder_embed_dim',
  encoderDepth: 'encoder_depth',
  encoderNumHeads: 'encoder_num_heads',
  encoderMlpRatio: 'encoder_mlp_ratio',
  encoderGlobalAttnIndexes: 'encoder_global_attn_indexes',
  windowSize: 'window_size',
  useRelPos: 'use_rel_pos',
  qkvBias: 'qkv_bias',
  encoderLayernormEps: 'encoder_layernorm_eps',
  promptEmbedDim: 'prompt_embed_dim',
  maskInChans: 'mask_in_chans',
  decoderTransformerDepth: 'decoder_transformer_depth',
  decoderMlpDim: 'decoder_mlp_dim',
  decoderNumHeads: 'decoder_num_heads',
  attentionDownsampleRate: 'attention_downsample_rate',
  numMultimaskOutputs: 'num_multimask_outputs',
  iouHeadDepth: 'iou_head_depth',
  iouHeadHiddenDim: 'iou_head_hidden_dim',
  pixelMean: 'pixel_mean',
  pixelStd: 'pixel_std',
  maskThreshold: 'mask_threshold',
};

const posInt = z.number().int().positive();
const rgb = z.tuple([z.number(), z.number(), z.number()]);
const FIELD_SCHEMAS: Record<keyof SamConfig, z.ZodType> = {
  imgSize: posInt,
  patchSize: posInt,
  encoderEmbedDim: posInt,
  encoderDepth: posInt,
  encoderNumHeads: posInt,
  encoderMlpRatio: z.number().positive(),
  encoderGlobalAttnIndexes: z.array(z.number().int().nonnegative()),
  windowSize: z.number().int().nonnegative(),
  useRelPos: z.boolean(),
  qkvBias: z.boolean(),
  encoderLayernormEps: z.number().positive(),
  promptEmbedDim: posInt,
  maskInChans: posInt,
  decoderTransformerDepth: posInt,
  decoderMlpDim: posInt,
  decoderNumHeads: posInt,
  attentionDownsampleRate: posInt,
  numMultimaskOutputs: posInt,
  iouHeadDepth: posInt,
  iouHeadHiddenDim: posInt,
  pixelMean: rgb,
  pixelStd: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  maskThreshold: z.number(),
};

const FIELDS = Object.keys(JSON_KEYS) as (keyof SamConfig)[];
const BY_JSON_KEY = new Map(FIELDS.map((f) => [JSON_KEYS[f], f]));
// Keys the fixture's file carries that describe the run, not the model.
const IGNORED_JSON_KEYS = new Set(['name', 'seed', 'model_type', 'checkpoint']);

const jsonSchema = z
  .object(Object.fromEntries(FIELDS.map((f) => [JSON_KEYS[f], FIELD_SCHEMAS[f].optional()])))
  .catchall(z.unknown());

function formatIssues(source: string, issues: z.core.$ZodIssue[]): string {
  const lines = issues.map((i) => `  key '${i.path.map(String).join('.') || '(root)'}': ${i.message}`);
  return `${source}: invalid SAM config:\n${lines.join('\n')}`;
}

/**
 * A partial SamConfig from a config JSON value: either the object itself or a file like the fixture's
 * tiny_sam_config.json that wraps it in "config". Unknown keys are errors (a typo would otherwise be
 * silently ignored), except run descriptors such as "name" and "seed".
 */
export function parseSamConfigJson(json: unknown, source = 'config'): Partial<SamConfig> {
  let obj = json;
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj) && 'config' in obj) {
    obj = (obj as { config: unknown }).config;
    source = `${source} ("config")`;
  }
  const parsed = jsonSchema.safeParse(obj);
  if (!parsed.success) throw new Error(formatIssues(source, parsed.error.issues));
  const out: Partial<Record<keyof SamConfig, unknown>> = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(parsed.data)) {
    const field = BY_JSON_KEY.get(k);
    if (field) {
      if (v !== undefined) out[field] = v;
    } else if (!IGNORED_JSON_KEYS.has(k)) unknown.push(k);
  }
  if (unknown.length > 0) {
    throw new Error(
      `${source}: unknown SAM config key(s) ${unknown.map((k) => `'${k}'`).join(', ')} ` +
        `(known: ${FIELDS.map((f) => JSON_KEYS[f]).join(', ')})`,
    );
  }
  return out as Partial<SamConfig>;
}

/** Reads and parses a config JSON file (see parseSamConfigJson). */
export async function readSamConfigFile(path: string): Promise<Partial<SamConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read SAM config ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseSamConfigJson(json, path);
}

/** The config as the snake_case JSON object (the fixture's format). */
export function samConfigToJson(cfg: SamConfig): Record<string, unknown> {
  return Object.fromEntries(FIELDS.map((f) => [JSON_KEYS[f], cfg[f]]));
}

/** Checks a complete config: every field present and well typed, and the sizes consistent. */
export function validateSamConfig(cfg: SamConfig, source = 'SAM config'): SamConfig {
  const full = z.object(Object.fromEntries(FIELDS.map((f) => [f, FIELD_SCHEMAS[f]]))).strict();
  const parsed = full.safeParse(cfg);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      ...i,
      path: i.path.map((p, n) => (n === 0 ? (JSON_KEYS[p as keyof SamConfig] ?? p) : p)),
    }));
    throw new Error(formatIssues(source, issues as z.core.$ZodIssue[]));
  }
  const problems: string[] = [];
  const bad = (field: keyof SamConfig, msg: string): void => {
    problems.push(`  key '${JSON_KEYS[field]}': ${msg}`);
  };
  if (cfg.imgSize % cfg.patchSize !== 0)
    bad('imgSize', `${cfg.imgSize} is not a multiple of patch_size ${cfg.patchSize}`);
  if (cfg.encoderEmbedDim % cfg.encoderNumHeads !== 0)
    bad(
      'encoderNumHeads',
      `encoder_embed_dim ${cfg.encoderEmbedDim} is not divisible by ${cfg.encoderNumHeads} heads`,
    );
  for (const i of cfg.encoderGlobalAttnIndexes) {
    if (i >= cfg.encoderDepth)
      bad('encoderGlobalAttnIndexes', `block ${i} >= encoder_depth ${cfg.encoderDepth}`);
  }
  if (new Set(cfg.encoderGlobalAttnIndexes).size !== cfg.encoderGlobalAttnIndexes.length)
    bad('encoderGlobalAttnIndexes', 'repeated block index');
  const windowed = cfg.encoderDepth - new Set(cfg.encoderGlobalAttnIndexes).size;
  if (windowed > 0 && cfg.windowSize <= 0)
    bad('windowSize', `must be positive when some blocks are windowed (got ${cfg.windowSize})`);
  const internal = cfg.promptEmbedDim / cfg.attentionDownsampleRate;
  if (!Number.isInteger(internal))
    bad('attentionDownsampleRate', `prompt_embed_dim ${cfg.promptEmbedDim} is not divisible by it`);
  else if (internal % cfg.decoderNumHeads !== 0 || cfg.promptEmbedDim % cfg.decoderNumHeads !== 0)
    bad(
      'decoderNumHeads',
      `${cfg.decoderNumHeads} heads do not divide the decoder widths ${cfg.promptEmbedDim}/${internal}`,
    );
  if (cfg.promptEmbedDim % 8 !== 0)
    bad('promptEmbedDim', `${cfg.promptEmbedDim} must be a multiple of 8 (upscaled map has D/8 channels)`);
  if (cfg.maskInChans % 4 !== 0) bad('maskInChans', `${cfg.maskInChans} must be a multiple of 4`);
  if (problems.length > 0) throw new Error(`${source}: inconsistent SAM config:\n${problems.join('\n')}`);
  return cfg;
}

// ---- inference from the state dict's shapes ----------------------------------------------------------

export type ShapeMap = Record<string, readonly number[]>;

/** Which fields came from where, for messages and reports. */
export type ConfigSource = 'shapes' | 'override' | 'preset';

export interface InferredSamConfig {
  config: SamConfig;
  /** The preset whose defaults filled the fields neither shapes nor overrides gave. */
  preset: SamPresetName;
  from: Record<keyof SamConfig, ConfigSource>;
}

function countIndexed(shapes: ShapeMap, prefix: string): number {
  // Keys like `${prefix}7.something`: the number of consecutive indices from 0.
  const seen = new Set<number>();
  for (const k of Object.keys(shapes)) {
    if (!k.startsWith(prefix)) continue;
    const n = Number(k.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(n)) seen.add(n);
  }
  let n = 0;
  while (seen.has(n)) n++;
  return n;
}

/**
 * The config of a state dict (official key names): every size its shapes determine, plus `overrides`
 * (from a config JSON) and, for what neither says (pixel mean/std, eps, decoder heads, and encoder heads
 * when there are no relative-position tables), the preset of the same encoder width and depth, or vit_b's.
 * An override that contradicts the shapes is an error naming the key.
 */
export function inferSamConfigDetailed(
  shapes: ShapeMap,
  overrides: Partial<SamConfig> = {},
  source = 'state dict',
): InferredSamConfig {
  const need = (key: string, rank: number): readonly number[] => {
    const s = shapes[key];
    if (!s) throw new Error(`${source}: cannot infer the SAM config: key '${key}' is missing`);
    if (s.length !== rank)
      throw new Error(`${source}: key '${key}' has shape [${s.join(', ')}], expected ${rank} dims`);
    return s;
  };
  const E = 'image_encoder.';
  const inferred: Partial<SamConfig> = {};
  const pw = need(`${E}patch_embed.proj.weight`, 4); // [C, 3, p, p]
  inferred.encoderEmbedDim = pw[0];
  inferred.patchSize = pw[2];
  const pos = need(`${E}pos_embed`, 4); // [1, L/p, L/p, C]
  inferred.imgSize = pos[1] * pw[2];
  const grid = pos[1];
  const depth = countIndexed(shapes, `${E}blocks.`);
  if (depth === 0) throw new Error(`${source}: no '${E}blocks.N.*' keys: not a SAM image encoder`);
  inferred.encoderDepth = depth;
  inferred.encoderMlpRatio = need(`${E}blocks.0.mlp.lin1.weight`, 2)[0] / pw[0];
  inferred.qkvBias = `${E}blocks.0.attn.qkv.bias` in shapes;
  inferred.useRelPos = `${E}blocks.0.attn.rel_pos_h` in shapes;
  if (inferred.useRelPos) {
    const lens: number[] = [];
    for (let b = 0; b < depth; b++) {
      const rel = need(`${E}blocks.${b}.attn.rel_pos_h`, 2); // [2S-1, head_dim]
      lens.push(rel[0]);
      if (b === 0) inferred.encoderNumHeads = pw[0] / rel[1];
    }
    const globalLen = 2 * grid - 1;
    const other = [...new Set(lens.filter((l) => l !== globalLen))];
    if (other.length > 1)
      throw new Error(`${source}: windowed blocks disagree on rel_pos length (${other.join(', ')})`);
    if (other.length === 1) {
      // Windowed blocks have 2*window-1 rows, global ones 2*grid-1: the split is known.
      if (other[0] % 2 !== 1) throw new Error(`${source}: rel_pos length ${other[0]} is not 2*window-1`);
      inferred.windowSize = (other[0] + 1) / 2;
      inferred.encoderGlobalAttnIndexes = lens.flatMap((l, i) => (l === globalLen ? [i] : []));
    }
    // All lengths 2*grid-1: every block is global, or the window equals the grid; the JSON/preset decides.
  }
  const neck = need(`${E}neck.0.weight`, 4); // [D, C, 1, 1]
  inferred.promptEmbedDim = neck[0];
  const P = 'prompt_encoder.';
  if (`${P}mask_downscaling.3.weight` in shapes)
    inferred.maskInChans = need(`${P}mask_downscaling.3.weight`, 4)[0];
  const M = 'mask_decoder.';
  if (`${M}mask_tokens.weight` in shapes) {
    inferred.numMultimaskOutputs = need(`${M}mask_tokens.weight`, 2)[0] - 1;
    inferred.decoderTransformerDepth = countIndexed(shapes, `${M}transformer.layers.`);
    inferred.decoderMlpDim = need(`${M}transformer.layers.0.mlp.lin1.weight`, 2)[0];
    const internal = need(`${M}transformer.layers.0.cross_attn_token_to_image.q_proj.weight`, 2)[0];
    inferred.attentionDownsampleRate = neck[0] / internal;
    inferred.iouHeadDepth = countIndexed(shapes, `${M}iou_prediction_head.layers.`);
    inferred.iouHeadHiddenDim = need(`${M}iou_prediction_head.layers.0.weight`, 2)[0];
  }

  const preset =
    (Object.keys(SAM_PRESETS) as SamPresetName[]).find(
      (n) =>
        SAM_PRESETS[n].encoderEmbedDim === inferred.encoderEmbedDim && SAM_PRESETS[n].encoderDepth === depth,
    ) ?? 'vit_b';
  const base = SAM_PRESETS[preset];

  const conflicts: string[] = [];
  const from = {} as Record<keyof SamConfig, ConfigSource>;
  const cfg = {} as Record<keyof SamConfig, unknown>;
  for (const f of FIELDS) {
    const s = inferred[f];
    const o = overrides[f];
    if (s !== undefined && o !== undefined && JSON.stringify(s) !== JSON.stringify(o)) {
      conflicts.push(
        `  key '${JSON_KEYS[f]}': config says ${JSON.stringify(o)}, the weights' shapes say ${JSON.stringify(s)}`,
      );
    }
    if (s !== undefined) {
      cfg[f] = s;
      from[f] = 'shapes';
    } else if (o !== undefined) {
      cfg[f] = o;
      from[f] = 'override';
    } else {
      cfg[f] = structuredClone(base[f]);
      from[f] = 'preset';
    }
  }
  if (conflicts.length > 0)
    throw new Error(`${source}: config contradicts the weights:\n${conflicts.join('\n')}`);
  const config = validateSamConfig(cfg as unknown as SamConfig, source);
  return { config, preset, from };
}

/** See inferSamConfigDetailed. */
export function inferSamConfig(
  shapes: ShapeMap,
  overrides: Partial<SamConfig> = {},
  source?: string,
): SamConfig {
  return inferSamConfigDetailed(shapes, overrides, source).config;
}

/** The image-encoder subset of the config (what ImageEncoderViT needs). */
export type SamEncoderConfig = Pick<
  SamConfig,
  | 'imgSize'
  | 'patchSize'
  | 'encoderEmbedDim'
  | 'encoderDepth'
  | 'encoderNumHeads'
  | 'encoderMlpRatio'
  | 'encoderGlobalAttnIndexes'
  | 'windowSize'
  | 'useRelPos'
  | 'qkvBias'
  | 'encoderLayernormEps'
  | 'promptEmbedDim'
>;
