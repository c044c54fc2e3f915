// Builds SAM's parts from a SamConfig by passing them into constructors (as build_sam.py does).
import type { StateDict } from '../engine/nn/index.ts';
import type { SamConfig } from './config.ts';
import { MaskDecoder } from './mask-decoder.ts';
import { PromptEncoder } from './prompt-encoder.ts';
import { TwoWayTransformer } from './two-way-transformer.ts';

/** [h, w] of the image embedding: L / patch on each side. */
export function embeddingSize(cfg: Pick<SamConfig, 'imgSize' | 'patchSize'>): [number, number] {
  const s = Math.floor(cfg.imgSize / cfg.patchSize);
  return [s, s];
}

export function buildPromptEncoder(
  cfg: Pick<SamConfig, 'imgSize' | 'patchSize' | 'promptEmbedDim' | 'maskInChans'>,
): PromptEncoder {
  return new PromptEncoder({
    embedDim: cfg.promptEmbedDim,
    imageEmbeddingSize: embeddingSize(cfg),
    inputImageSize: [cfg.imgSize, cfg.imgSize],
    maskInChans: cfg.maskInChans,
  });
}

export function buildMaskDecoder(
  cfg: Pick<
    SamConfig,
    | 'promptEmbedDim'
    | 'decoderTransformerDepth'
    | 'decoderMlpDim'
    | 'decoderNumHeads'
    | 'attentionDownsampleRate'
    | 'numMultimaskOutputs'
    | 'iouHeadDepth'
    | 'iouHeadHiddenDim'
  >,
): MaskDecoder {
  return new MaskDecoder({
    transformerDim: cfg.promptEmbedDim,
    transformer: new TwoWayTransformer({
      depth: cfg.decoderTransformerDepth,
      embeddingDim: cfg.promptEmbedDim,
      numHeads: cfg.decoderNumHeads,
      mlpDim: cfg.decoderMlpDim,
      attentionDownsampleRate: cfg.attentionDownsampleRate,
    }),
    numMultimaskOutputs: cfg.numMultimaskOutputs,
    iouHeadDepth: cfg.iouHeadDepth,
    iouHeadHiddenDim: cfg.iouHeadHiddenDim,
  });
}

/** The entries of `sd` under `prefix.`, with the prefix removed (the same tensors, not copies). */
export function subStateDict(sd: StateDict, prefix: string): StateDict {
  const out: StateDict = {};
  const p = `${prefix}.`;
  for (const [k, t] of Object.entries(sd)) if (k.startsWith(p)) out[k.slice(p.length)] = t;
  return out;
}
