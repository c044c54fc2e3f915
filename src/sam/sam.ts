// The composed SAM: image encoder, prompt encoder and mask decoder, with the pixel statistics. State-dict
// keys are the official ones (image_encoder.*, prompt_encoder.*, mask_decoder.*); pixel_mean / pixel_std
// are non-persistent buffers, as in the official checkpoints, which do not store them.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { Module } from '../engine/nn/index.ts';
import type { SamConfig } from './config.ts';
import type { MaskDecoder } from './mask-decoder.ts';
import { postprocessMasks } from './postprocess.ts';
import { applyBoxes, applyCoords } from './preprocess.ts';
import type { PromptEncoder } from './prompt-encoder.ts';

/** What SAM needs of its image encoder: [B, 3, L, L] normalised input -> [B, D, L/16, L/16]. */
export interface SamImageEncoder extends Module {
  readonly imgSize: number;
  forward(x: Tensor): Tensor;
}

export interface SamParts {
  imageEncoder: SamImageEncoder;
  promptEncoder: PromptEncoder;
  maskDecoder: MaskDecoder;
  /** RGB mean / std on the 0..255 scale. */
  pixelMean: readonly [number, number, number];
  pixelStd: readonly [number, number, number];
  maskThreshold?: number;
  /** The config the parts were built from, when known (kept for reports and cache ids). */
  config?: SamConfig;
}

export class Sam extends Module {
  readonly imageEncoder: SamImageEncoder;
  readonly promptEncoder: PromptEncoder;
  readonly maskDecoder: MaskDecoder;
  /** [3, 1, 1] */
  readonly pixelMean: Tensor;
  /** [3, 1, 1] */
  readonly pixelStd: Tensor;
  readonly maskThreshold: number;
  readonly config: SamConfig | undefined;

  constructor(parts: SamParts) {
    super();
    this.imageEncoder = this.registerModule('image_encoder', parts.imageEncoder);
    this.promptEncoder = this.registerModule('prompt_encoder', parts.promptEncoder);
    this.maskDecoder = this.registerModule('mask_decoder', parts.maskDecoder);
    this.pixelMean = this.registerBuffer('pixel_mean', torch.tensor([...parts.pixelMean]).view(3, 1, 1), {
      persistent: false,
    });
    this.pixelStd = this.registerBuffer('pixel_std', torch.tensor([...parts.pixelStd]).view(3, 1, 1), {
      persistent: false,
    });
    this.maskThreshold = parts.maskThreshold ?? 0;
    this.config = parts.config;
    const [h, w] = this.promptEncoder.imageEmbeddingSize;
    const L = this.imageEncoder.imgSize;
    if (this.promptEncoder.inputImageSize[0] !== L || this.promptEncoder.inputImageSize[1] !== L) {
      throw new Error(
        `Sam: prompt encoder expects a ${this.promptEncoder.inputImageSize.join('x')} input, the image encoder ${L}x${L}`,
      );
    }
    if (h <= 0 || w <= 0) throw new Error('Sam: empty image embedding size');
  }

  get imgSize(): number {
    return this.imageEncoder.imgSize;
  }

  /** The device the weights are on ('cpu', 'cuda:0'). */
  get device(): string {
    return this.promptEncoder.noMaskEmbed.weight.device;
  }

  /**
   * Normalises and pads resized RGB images on the model's device: x [B, 3, h, w] on the 0..255 scale
   * (h, w <= L) -> [B, 3, L, L]. preprocess.ts does the same on the CPU for a single uint8 image.
   */
  preprocess(x: Tensor): Tensor {
    return torch.tidy(() => {
      const [, c, h, w] = x.shape;
      const L = this.imgSize;
      if (x.ndim !== 4 || c !== 3 || h > L || w > L) {
        throw new Error(`Sam.preprocess: expected [B, 3, h <= ${L}, w <= ${L}], got [${x.shape.join(', ')}]`);
      }
      const n = x.to(this.device).float().sub(this.pixelMean).div(this.pixelStd);
      return torch.pad(n, [0, L - w, 0, L - h]);
    });
  }

  /** Normalised padded input [B, 3, L, L] -> image embeddings [B, D, L/16, L/16]. */
  encodeImage(input: Tensor): Tensor {
    return this.imageEncoder.forward(input);
  }

  /**
   * WISH's prompt latents [N, 2, D] for points or boxes given in an ORIGINAL image of `originalSize`
   * [H, W]: coordinates are mapped to the input frame as predict() maps them, then
   * PromptEncoder.promptLatents (one point + pad token, or two box corners, per row). No image needed.
   */
  promptLatents(
    originalSize: [number, number],
    prompts: { points?: number[][]; labels?: number[]; boxes?: number[][] },
  ): Tensor {
    const L = this.imgSize;
    return torch.tidy(() => {
      if (prompts.boxes !== undefined) {
        const flat = applyBoxes(prompts.boxes.flat(), originalSize, L);
        return this.promptEncoder.promptLatents({ boxes: torch.fromTypedArray(flat, [flat.length / 4, 4]) });
      }
      const flat = applyCoords((prompts.points ?? []).flat(), originalSize, L);
      return this.promptEncoder.promptLatents({
        points: prompts.points === undefined ? undefined : torch.fromTypedArray(flat, [flat.length / 2, 2]),
        labels: prompts.labels,
      });
    });
  }

  /** Low-res logits [B, k, 4h, 4w] -> [B, k, H, W] logits in the original image's frame. */
  postprocessMasks(masks: Tensor, inputSize: [number, number], originalSize: [number, number]): Tensor {
    return postprocessMasks(masks, { imgSize: this.imgSize, inputSize, originalSize });
  }
}
