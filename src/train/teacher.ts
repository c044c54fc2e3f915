// The teacher's parts the trainer needs at train time: SAM prompt latents (Eq. 9/11's Z, from the prompt
// encoder alone: they do not depend on the image) and SAM point prompts from cached embeddings for tag
// images (the PointPromptTeacher of tags-to-points, Eq. 18).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import type { PointPromptOutput, PointPromptTeacher } from '../method/tags-to-points.ts';
import type { PromptKind } from '../method/types.ts';
import { readCachedEmbedding } from '../sam/cache/embed-cache.ts';
import { SamPredictor } from '../sam/predictor.ts';
import { applyBoxes, applyCoords } from '../sam/preprocess.ts';
import type { PromptEncoder } from '../sam/prompt-encoder.ts';
import type { Sam } from '../sam/sam.ts';

/** Computes target prompt latents for labels given in ORIGINAL image coordinates. */
export interface PromptLatentSource {
  /** prompts: points [x, y] or COCO boxes [x, y, w, h] in the original frame -> [T, 2, D]. */
  latents(kind: PromptKind, prompts: number[][], originalSize: [number, number]): Tensor;
}

/** SAM's prompt encoder, fed as SamPredictor feeds it: coordinates mapped to the L-sized input frame. */
export class SamPromptLatents implements PromptLatentSource {
  constructor(
    readonly encoder: PromptEncoder,
    readonly imgSize: number,
  ) {}

  private get device(): string {
    return this.encoder.noMaskEmbed.weight.device;
  }

  latents(kind: PromptKind, prompts: number[][], originalSize: [number, number]): Tensor {
    const T = prompts.length;
    return torch.noGrad(() =>
      torch.tidy(() => {
        if (kind === 'point') {
          const xy = applyCoords(
            prompts.flatMap((p) => [p[0], p[1]]),
            originalSize,
            this.imgSize,
          );
          return this.encoder.promptLatents({
            points: torch.fromTypedArray(xy, [T, 2], { device: this.device }),
          });
        }
        const corners = prompts.flatMap(([x, y, w, h]) => [x, y, x + w, y + h]);
        const b = applyBoxes(corners, originalSize, this.imgSize);
        return this.encoder.promptLatents({
          boxes: torch.fromTypedArray(b, [T, 4], { device: this.device }),
        });
      }),
    );
  }
}

/**
 * SAM for tag images: loads the image's cached embedding (src/sam/cache, entry name = the image's
 * file_name) and decodes all peaks of the image in one batched low-res call (no full-size masks).
 */
export class SamPointTeacher implements PointPromptTeacher {
  private readonly predictor: SamPredictor;
  constructor(
    sam: Sam,
    readonly embeddingsDir: string,
    /** embedding id -> [H, W] of the original image. */
    readonly sizes: Map<string, [number, number]>,
  ) {
    this.predictor = new SamPredictor(sam);
  }

  async predictPoints(embeddingId: string, points: Tensor): Promise<PointPromptOutput> {
    const size = this.sizes.get(embeddingId);
    if (!size) throw new Error(`SAM teacher: no image size known for embedding "${embeddingId}"`);
    const { embedding } = await readCachedEmbedding(this.embeddingsDir, embeddingId);
    try {
      this.predictor.setImageEmbedding(embedding, { originalSize: size });
    } finally {
      embedding.dispose();
    }
    const N = points.shape[0];
    const xy = applyCoords(points.float().reshape(-1).toFloat32Array(), size, this.predictor.model.imgSize);
    const out = torch.noGrad(() =>
      this.predictor.predictTorch({
        pointCoords: torch.fromTypedArray(xy, [N, 1, 2]),
        pointLabels: torch.ones([N, 1], { dtype: 'int64' }),
        multimaskOutput: true,
        lowResOnly: true,
      }),
    );
    this.predictor.resetImage();
    return { lowResLogits: out.lowResLogits, iou: out.iouPredictions, stability: out.stabilityScores };
  }
}
