// Builds SAM's parts from a SamConfig by passing them into constructors (as build_sam.py does).
import * as torch from '../engine/index.ts';
import { validateSamConfig, type SamConfig } from './config.ts';
import { ImageEncoderViT } from './image-encoder.ts';
import { loadSamStateDict } from './load.ts';
import { MaskDecoder } from './mask-decoder.ts';
import { PromptEncoder } from './prompt-encoder.ts';
import { Sam } from './sam.ts';
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

/** A SAM with freshly initialised weights, every part built from `cfg` (validated first). */
export function buildSam(cfg: SamConfig): Sam {
  validateSamConfig(cfg);
  const sam = new Sam({
    imageEncoder: new ImageEncoderViT(cfg),
    promptEncoder: buildPromptEncoder(cfg),
    maskDecoder: buildMaskDecoder(cfg),
    pixelMean: cfg.pixelMean,
    pixelStd: cfg.pixelStd,
    maskThreshold: cfg.maskThreshold,
    config: cfg,
  });
  return sam.eval();
}

export interface LoadSamModelOptions {
  /** A config JSON file or values, for what the weights' shapes do not say (heads, global blocks, ...). */
  config?: string | Partial<SamConfig>;
  /** 'cpu' (default) or 'cuda'. */
  device?: string;
}

/** Builds the SAM a checkpoint (.pth or safetensors, official or Hugging Face key names) describes and loads it. */
export async function loadSam(path: string, opts: LoadSamModelOptions = {}): Promise<Sam> {
  const { stateDict, config } = await loadSamStateDict(path, { config: opts.config, device: opts.device });
  try {
    const sam = buildSam(config);
    if (opts.device && opts.device !== 'cpu') sam.to(opts.device);
    sam.loadStateDict(stateDict);
    return sam;
  } finally {
    torch.dispose(stateDict);
  }
}
