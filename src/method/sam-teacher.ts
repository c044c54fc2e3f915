// The real SAM behind the method's narrow teacher interface: single positive point prompts decoded from
// a cached image embedding, low-resolution logits only (what tags-to-points and the mask targets need).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { decodePrompts } from '../sam/predictor.ts';
import { applyCoords, resizedShape } from '../sam/preprocess.ts';
import type { Sam } from '../sam/sam.ts';
import type { SamGeometry } from './sam-targets.ts';
import type { PointPromptOutput, PointPromptTeacher } from './tags-to-points.ts';

/** SAM's sizes for an original image of [H, W] (ResizeLongestSide to the model's input side L). */
export function samGeometry(originalSize: [number, number], imgSize: number): SamGeometry {
  return { imgSize, inputSize: resizedShape(originalSize, imgSize), originalSize };
}

/** An image's cached embedding: [1, D, h, w] and the original image's [H, W]. Borrowed, not disposed. */
export interface CachedEmbedding {
  embedding: Tensor;
  originalSize: [number, number];
}

export class SamPointTeacher implements PointPromptTeacher {
  /**
   * lookup: the cached embedding of an image id (e.g. from the `wish prepare` cache); chunkSize bounds
   * the prompts per decoder call.
   */
  constructor(
    readonly sam: Sam,
    readonly lookup: (embeddingId: string) => CachedEmbedding | Promise<CachedEmbedding>,
    readonly chunkSize = 32,
  ) {}

  /** points [N, 2] (x, y) in the original frame -> three low-res masks, IoU and stability per point. */
  async predictPoints(embeddingId: string, points: Tensor): Promise<PointPromptOutput> {
    if (points.ndim !== 2 || points.shape[1] !== 2) {
      throw new Error(`SamPointTeacher: points must be [N, 2], got [${points.shape.join(', ')}]`);
    }
    const cached = await this.lookup(embeddingId);
    const N = points.shape[0];
    const geo = samGeometry(cached.originalSize, this.sam.imgSize);
    return torch.tidy(() => {
      // The official predictor's apply_coords: original -> resized input frame, float64 then float32.
      const input = applyCoords(points.toFloat32Array(), cached.originalSize, this.sam.imgSize);
      const out = decodePrompts(
        this.sam,
        cached.embedding,
        { originalSize: geo.originalSize, inputSize: geo.inputSize },
        {
          pointCoords: torch.fromTypedArray(input, [N, 1, 2]),
          pointLabels: torch.ones([N, 1], { dtype: 'int64' }),
          multimaskOutput: true,
          lowResOnly: true,
          chunkSize: this.chunkSize,
        },
      );
      return { lowResLogits: out.lowResLogits, iou: out.iouPredictions, stability: out.stabilityScores };
    });
  }
}
