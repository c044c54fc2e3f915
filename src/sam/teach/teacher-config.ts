// The small SAM-architecture teacher the offline demo uses: the official layout (ViT with windowed and
// global blocks, relative positions, neck; prompt encoder; two-way decoder with 3 + 1 mask tokens and an
// IoU head), shrunk for 128 px synthetic scenes. Patch 8 on a 128 input gives a 16 x 16 embedding and
// 64 x 64 low-resolution masks (half the scene's resolution), where official SAM's patch 16 would give 8 x 8.
import { samPreset, validateSamConfig, type SamConfig } from '../config.ts';

export function teacherConfig(): SamConfig {
  return validateSamConfig(
    {
      ...samPreset('vit_b'),
      imgSize: 128,
      patchSize: 8,
      encoderEmbedDim: 64,
      encoderDepth: 4,
      encoderNumHeads: 2,
      encoderGlobalAttnIndexes: [1, 3],
      windowSize: 8,
      promptEmbedDim: 64,
      maskInChans: 16,
      decoderTransformerDepth: 2,
      decoderMlpDim: 128,
      decoderNumHeads: 4,
      iouHeadHiddenDim: 64,
    },
    'teacher config',
  );
}
