// The embedding function of a SAM checkpoint: only the image encoder is built (the prompt encoder and
// mask decoder weights are checked by the loader, then freed), with the official preprocessing.
import * as torch from '../../engine/index.ts';
import type { RgbImage } from '../../data/image/types.ts';
import type { SamConfig } from '../config.ts';
import { ImageEncoderViT } from '../image-encoder.ts';
import { loadSamStateDict, subStateDict, type LoadSamOptions } from '../load.ts';
import { preprocessImage } from '../preprocess.ts';
import type { ComputedEmbedding } from './embed-cache.ts';
import { modelIdFrom, fileSha256 } from './model-id.ts';

export interface SamEmbedder {
  config: SamConfig;
  modelId: string;
  encoder: ImageEncoderViT;
  /** uint8 RGB image -> embedding [1, D, L/p, L/p] plus the sizes the decoder side needs. */
  embed(img: RgbImage): ComputedEmbedding;
  dispose(): void;
}

/** An embedder from loaded weights (the image_encoder.* entries are copied; the caller keeps the dict). */
export function embedderFromWeights(
  stateDict: Record<string, torch.Tensor>,
  config: SamConfig,
  modelId: string,
  device = 'cpu',
): SamEmbedder {
  const encoder = new ImageEncoderViT(config).eval();
  encoder.loadStateDict(subStateDict(stateDict, 'image_encoder'));
  if (device !== 'cpu') encoder.to(device);
  return {
    config,
    modelId,
    encoder,
    embed(img: RgbImage): ComputedEmbedding {
      return torch.tidy(() => {
        const input = preprocessImage(img, config.imgSize, config);
        const x = device === 'cpu' ? input.tensor : input.tensor.to(device);
        const embedding = torch.noGrad(() => encoder.forward(x)).cpu();
        return { embedding, originalSize: input.originalSize, inputSize: input.inputSize };
      });
    },
    dispose: () => encoder.dispose(),
  };
}

/** Loads a checkpoint (.pth or safetensors) and returns its image-encoder embedder and model id. */
export async function loadSamEmbedder(checkpoint: string, opts: LoadSamOptions = {}): Promise<SamEmbedder> {
  // Weights are read on the CPU; the encoder moves to opts.device once built.
  const [loaded, sha] = await Promise.all([
    loadSamStateDict(checkpoint, { config: opts.config }),
    fileSha256(checkpoint),
  ]);
  try {
    return embedderFromWeights(loaded.stateDict, loaded.config, modelIdFrom(sha, loaded.config), opts.device);
  } finally {
    torch.dispose(loaded.stateDict);
  }
}
