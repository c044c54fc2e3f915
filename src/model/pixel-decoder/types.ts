// What a pixel decoder hands to the transformer decoder and the mask head.
import type { Tensor } from '../../engine/index.ts';
import { Module } from '../../engine/nn/index.ts';
import type { Features } from '../backbone/types.ts';

export interface PixelDecoderOutput {
  /** Per-pixel embeddings S_L of Eq. 8: [B, maskDim, H/4, W/4] */
  maskFeatures: Tensor;
  /** 3 maps [B, convDim, h, w], lowest resolution first (strides 32, 16, 8), as Mask2Former orders them. */
  multiScale: Tensor[];
  /** Sine position encodings of multiScale, [B, convDim, h, w] each (shared tables: read-only). */
  multiScalePos: Tensor[];
}

export abstract class PixelDecoder extends Module {
  abstract readonly convDim: number;
  abstract readonly maskDim: number;
  /** features from a backbone -> PixelDecoderOutput */
  abstract forward(features: Features): PixelDecoderOutput;
}
