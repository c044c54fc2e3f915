// SAM's state-dict layout: every official key with its shape for a config (segment_anything's module tree,
// in its order), and the Hugging Face `SamModel` key names (transformers' modeling_sam) mapped back to
// the official ones.
import type { SamConfig } from './config.ts';

export type Shape = number[];

/** Official key -> shape for a SAM of this config (the exact set `build_sam` strictly loads). */
export function expectedSamShapes(cfg: SamConfig): Map<string, Shape> {
  const out = new Map<string, Shape>();
  const add = (k: string, s: Shape): void => void out.set(k, s);
  const linear = (p: string, inF: number, outF: number, bias = true): void => {
    add(`${p}.weight`, [outF, inF]);
    if (bias) add(`${p}.bias`, [outF]);
  };
  const norm = (p: string, c: number): void => {
    add(`${p}.weight`, [c]);
    add(`${p}.bias`, [c]);
  };

  const C = cfg.encoderEmbedDim;
  const p = cfg.patchSize;
  const grid = cfg.imgSize / p;
  const hd = C / cfg.encoderNumHeads;
  const D = cfg.promptEmbedDim;
  const E = 'image_encoder';
  add(`${E}.pos_embed`, [1, grid, grid, C]);
  add(`${E}.patch_embed.proj.weight`, [C, 3, p, p]);
  add(`${E}.patch_embed.proj.bias`, [C]);
  const global = new Set(cfg.encoderGlobalAttnIndexes);
  const hidden = Math.trunc(C * cfg.encoderMlpRatio);
  for (let i = 0; i < cfg.encoderDepth; i++) {
    const b = `${E}.blocks.${i}`;
    norm(`${b}.norm1`, C);
    if (cfg.useRelPos) {
      const s = global.has(i) ? grid : cfg.windowSize;
      add(`${b}.attn.rel_pos_h`, [2 * s - 1, hd]);
      add(`${b}.attn.rel_pos_w`, [2 * s - 1, hd]);
    }
    linear(`${b}.attn.qkv`, C, 3 * C, cfg.qkvBias);
    linear(`${b}.attn.proj`, C, C);
    norm(`${b}.norm2`, C);
    linear(`${b}.mlp.lin1`, C, hidden);
    linear(`${b}.mlp.lin2`, hidden, C);
  }
  add(`${E}.neck.0.weight`, [D, C, 1, 1]);
  norm(`${E}.neck.1`, D);
  add(`${E}.neck.2.weight`, [D, D, 3, 3]);
  norm(`${E}.neck.3`, D);

  const P = 'prompt_encoder';
  const m = cfg.maskInChans;
  add(`${P}.pe_layer.positional_encoding_gaussian_matrix`, [2, D / 2]);
  for (let i = 0; i < 4; i++) add(`${P}.point_embeddings.${i}.weight`, [1, D]);
  add(`${P}.not_a_point_embed.weight`, [1, D]);
  add(`${P}.mask_downscaling.0.weight`, [m / 4, 1, 2, 2]);
  add(`${P}.mask_downscaling.0.bias`, [m / 4]);
  norm(`${P}.mask_downscaling.1`, m / 4);
  add(`${P}.mask_downscaling.3.weight`, [m, m / 4, 2, 2]);
  add(`${P}.mask_downscaling.3.bias`, [m]);
  norm(`${P}.mask_downscaling.4`, m);
  add(`${P}.mask_downscaling.6.weight`, [D, m, 1, 1]);
  add(`${P}.mask_downscaling.6.bias`, [D]);
  add(`${P}.no_mask_embed.weight`, [1, D]);

  const M = 'mask_decoder';
  const inner = D / cfg.attentionDownsampleRate;
  const attention = (a: string, internal: number): void => {
    linear(`${a}.q_proj`, D, internal);
    linear(`${a}.k_proj`, D, internal);
    linear(`${a}.v_proj`, D, internal);
    linear(`${a}.out_proj`, internal, D);
  };
  for (let i = 0; i < cfg.decoderTransformerDepth; i++) {
    const l = `${M}.transformer.layers.${i}`;
    attention(`${l}.self_attn`, D);
    norm(`${l}.norm1`, D);
    attention(`${l}.cross_attn_token_to_image`, inner);
    norm(`${l}.norm2`, D);
    linear(`${l}.mlp.lin1`, D, cfg.decoderMlpDim);
    linear(`${l}.mlp.lin2`, cfg.decoderMlpDim, D);
    norm(`${l}.norm3`, D);
    norm(`${l}.norm4`, D);
    attention(`${l}.cross_attn_image_to_token`, inner);
  }
  attention(`${M}.transformer.final_attn_token_to_image`, inner);
  norm(`${M}.transformer.norm_final_attn`, D);
  const nMasks = cfg.numMultimaskOutputs + 1;
  add(`${M}.iou_token.weight`, [1, D]);
  add(`${M}.mask_tokens.weight`, [nMasks, D]);
  add(`${M}.output_upscaling.0.weight`, [D, D / 4, 2, 2]);
  add(`${M}.output_upscaling.0.bias`, [D / 4]);
  norm(`${M}.output_upscaling.1`, D / 4);
  add(`${M}.output_upscaling.3.weight`, [D / 4, D / 8, 2, 2]);
  add(`${M}.output_upscaling.3.bias`, [D / 8]);
  for (let j = 0; j < nMasks; j++) {
    const h = `${M}.output_hypernetworks_mlps.${j}.layers`;
    linear(`${h}.0`, D, D);
    linear(`${h}.1`, D, D);
    linear(`${h}.2`, D, D / 8);
  }
  const dims = [D, ...Array<number>(cfg.iouHeadDepth - 1).fill(cfg.iouHeadHiddenDim), nMasks];
  for (let k = 0; k < cfg.iouHeadDepth; k++)
    linear(`${M}.iou_prediction_head.layers.${k}`, dims[k], dims[k + 1]);
  return out;
}

// ---- Hugging Face names ----------------------------------------------------------------------------

/** True when the keys use Hugging Face SamModel names (vision_encoder.*, shared_image_embedding.*). */
export function isHfSamKeys(keys: Iterable<string>): boolean {
  for (const k of keys) {
    if (k.startsWith('vision_encoder.') || k.startsWith('shared_image_embedding.')) return true;
    if (k.startsWith('prompt_encoder.shared_embedding.') || k.startsWith('prompt_encoder.point_embed.'))
      return true;
  }
  return false;
}

// HF feed-forward heads are proj_in, layers.0..n-3, proj_out; the official MLP is layers.0..n-1.
function mapFeedForward(rest: string, numLayers: number): string | null {
  if (rest.startsWith('proj_in.')) return `layers.0.${rest.slice('proj_in.'.length)}`;
  if (rest.startsWith('proj_out.')) return `layers.${numLayers - 1}.${rest.slice('proj_out.'.length)}`;
  const m = /^layers\.(\d+)\.(.*)$/.exec(rest);
  if (m) return `layers.${Number(m[1]) + 1}.${m[2]}`;
  return null;
}

const ENCODER_RULES: [RegExp, string][] = [
  [/^patch_embed\.projection\./, 'patch_embed.proj.'],
  [/^layers\.(\d+)\.layer_norm(\d)\./, 'blocks.$1.norm$2.'],
  [/^layers\.(\d+)\.attn\./, 'blocks.$1.attn.'],
  [/^layers\.(\d+)\.mlp\./, 'blocks.$1.mlp.'],
  [/^neck\.conv1\./, 'neck.0.'],
  [/^neck\.layer_norm1\./, 'neck.1.'],
  [/^neck\.conv2\./, 'neck.2.'],
  [/^neck\.layer_norm2\./, 'neck.3.'],
];
const PROMPT_RULES: [RegExp, string][] = [
  [/^point_embed\.(\d+)\./, 'point_embeddings.$1.'],
  [/^mask_embed\.conv1\./, 'mask_downscaling.0.'],
  [/^mask_embed\.layer_norm1\./, 'mask_downscaling.1.'],
  [/^mask_embed\.conv2\./, 'mask_downscaling.3.'],
  [/^mask_embed\.layer_norm2\./, 'mask_downscaling.4.'],
  [/^mask_embed\.conv3\./, 'mask_downscaling.6.'],
];
const DECODER_RULES: [RegExp, string][] = [
  [/^transformer\.layers\.(\d+)\.layer_norm(\d)\./, 'transformer.layers.$1.norm$2.'],
  [/^transformer\.layer_norm_final_attn\./, 'transformer.norm_final_attn.'],
  [/^upscale_conv1\./, 'output_upscaling.0.'],
  [/^upscale_layer_norm\./, 'output_upscaling.1.'],
  [/^upscale_conv2\./, 'output_upscaling.3.'],
];

function applyRules(rest: string, rules: [RegExp, string][]): string {
  for (const [re, to] of rules) if (re.test(rest)) return rest.replace(re, to);
  return rest;
}

const PE_KEY = 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix';

/**
 * The official name of a Hugging Face SamModel key, given the IoU head depth (HF names its last layer
 * proj_out). Keys that are not part of SAM's weights come back unchanged (and are reported as unexpected).
 */
export function hfKeyToOfficial(key: string, iouHeadDepth: number): string {
  if (key === 'shared_image_embedding.positional_embedding') return PE_KEY;
  if (key === 'prompt_encoder.shared_embedding.positional_embedding') return PE_KEY;
  if (key.startsWith('vision_encoder.'))
    return `image_encoder.${applyRules(key.slice('vision_encoder.'.length), ENCODER_RULES)}`;
  if (key.startsWith('prompt_encoder.'))
    return `prompt_encoder.${applyRules(key.slice('prompt_encoder.'.length), PROMPT_RULES)}`;
  if (key.startsWith('mask_decoder.')) {
    const rest = key.slice('mask_decoder.'.length);
    const hyper = /^output_hypernetworks_mlps\.(\d+)\.(.*)$/.exec(rest);
    if (hyper) {
      const r = mapFeedForward(hyper[2], 3);
      if (r) return `mask_decoder.output_hypernetworks_mlps.${hyper[1]}.${r}`;
    }
    if (rest.startsWith('iou_prediction_head.')) {
      const r = mapFeedForward(rest.slice('iou_prediction_head.'.length), iouHeadDepth);
      if (r) return `mask_decoder.iou_prediction_head.${r}`;
    }
    return `mask_decoder.${applyRules(rest, DECODER_RULES)}`;
  }
  return key;
}

/** Number of layers of HF's iou_prediction_head (proj_in + layers.* + proj_out). */
export function hfIouHeadDepth(keys: Iterable<string>): number {
  let n = 0;
  for (const k of keys) {
    const m = /^mask_decoder\.iou_prediction_head\.layers\.(\d+)\./.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n + 2;
}
