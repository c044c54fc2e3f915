// Every image's FrameMaskTargets read in one grid_sample. A batch of the same dataset usually has masks of
// one size (the synthetic set: all 96 x 96); then the matcher and the loss read all targets of all images
// with a handful of tensor ops instead of a dozen per image (on a CPU the per-op cost dominates at these
// sizes). Values are exactly FrameMaskTargets' own.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { FrameMaskTargets } from './sam-targets.ts';
import type { ImageTargets } from './types.ts';

export class BatchedFrameTargets {
  /** First row (target) of each image in the concatenated masks. */
  readonly rowStart: number[];
  readonly rows: number;
  readonly levels: number;
  /** [N, K, H, W] every image's masks, image by image (float32). */
  readonly masks: Tensor;
  /** [N] int64: the image of each row. */
  readonly rowImage: Tensor;
  /** [N, 1, 2] grid_sample scale and offset of each row's image. */
  readonly rowScale: Tensor;
  readonly rowOffset: Tensor;

  private constructor(
    parts: FrameMaskTargets[],
    images: number[],
    rowStart: number[],
    readonly threshold: number | null,
    device: string,
  ) {
    this.rowStart = rowStart;
    this.levels = parts[0].levels;
    const imageOf: number[] = [];
    const scale: number[] = [];
    const offset: number[] = [];
    parts.forEach((p, i) => {
      for (let t = 0; t < p.count; t++) {
        imageOf.push(images[i]);
        scale.push(...p.gridScale);
        offset.push(...p.gridOffset);
      }
    });
    this.rows = imageOf.length;
    this.masks = (
      parts.length === 1
        ? parts[0].masks
        : torch.cat(
            parts.map((p) => p.masks),
            0,
          )
    ).float();
    this.rowImage = torch.fromTypedArray(BigInt64Array.from(imageOf, BigInt), [this.rows], { device });
    this.rowScale = torch.fromTypedArray(Float32Array.from(scale), [this.rows, 1, 2], { device });
    this.rowOffset = torch.fromTypedArray(Float32Array.from(offset), [this.rows, 1, 2], { device });
  }

  /**
   * The batched reader, or null when the images' targets are not all FrameMaskTargets of one size, level
   * count and threshold. Images without targets are skipped. The tensors live in the caller's tidy scope.
   */
  static tryBuild(targets: ImageTargets[], device?: string): BatchedFrameTargets | null {
    const parts: FrameMaskTargets[] = [];
    const images: number[] = [];
    const rowStart: number[] = [];
    let n = 0;
    for (let b = 0; b < targets.length; b++) {
      rowStart.push(n);
      const m = targets[b].masks;
      if (m.count === 0) continue;
      if (!(m instanceof FrameMaskTargets)) return null;
      const first = parts[0];
      if (
        first &&
        (m.levels !== first.levels ||
          m.threshold !== first.threshold ||
          m.masks.shape[2] !== first.masks.shape[2] ||
          m.masks.shape[3] !== first.masks.shape[3])
      ) {
        return null;
      }
      parts.push(m);
      images.push(b);
      n += m.count;
    }
    if (parts.length === 0) return null;
    return new BatchedFrameTargets(
      parts,
      images,
      rowStart,
      parts[0].threshold,
      device ?? parts[0].masks.device,
    );
  }

  private finish(v: Tensor): Tensor {
    return this.threshold === null ? v : v.gt(this.threshold).float();
  }

  /** Every target at its image's points: coords [B, P, 2] -> [N, K, P] (rows image by image). */
  readAll(coords: Tensor): Tensor {
    return torch.tidy(() => {
      const grid = coords.float().indexSelect(0, this.rowImage).mul(this.rowScale).add(this.rowOffset); // [N, P, 2]
      return this.finish(torch.gridSample(this.masks, grid.unsqueeze(2), { alignCorners: false }).squeeze(3));
    });
  }

  /** Row rows[m] (rowStart[image] + target) at level levels[m], read at coords [M, P, 2] -> [M, P]. */
  readPairs(rows: number[], levels: number[], coords: Tensor): Tensor {
    return torch.tidy(() => {
      const device = this.masks.device;
      const K = this.levels;
      const [, , H, W] = this.masks.shape;
      const flat = BigInt64Array.from(rows, (r, m) => BigInt(r * K + levels[m]));
      const chosen = this.masks
        .reshape(this.rows * K, 1, H, W)
        .indexSelect(0, torch.fromTypedArray(flat, [rows.length], { device }));
      const rowIdx = torch.fromTypedArray(BigInt64Array.from(rows, BigInt), [rows.length], { device });
      const grid = coords
        .float()
        .mul(this.rowScale.indexSelect(0, rowIdx))
        .add(this.rowOffset.indexSelect(0, rowIdx));
      return this.finish(
        torch.gridSample(chosen, grid.unsqueeze(2), { alignCorners: false }).squeeze(3).squeeze(1),
      );
    });
  }
}
