// Many images' FrameMaskTargets read in one grid_sample. A batch of the same dataset usually has masks of
// one size (the synthetic set: all 96 x 96); then the matcher and the loss read all those targets with a
// handful of tensor ops instead of a dozen per image (on a CPU the per-op cost dominates at these sizes).
// Images with other targets (other sizes, SamMaskTargets, full masks) are read one by one beside it.
// Values are exactly FrameMaskTargets' own.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { FrameMaskTargets } from './sam-targets.ts';
import type { ImageTargets } from './types.ts';

export class BatchedFrameTargets {
  /** First row (target) of each image in the concatenated masks; -1 for images read one by one. */
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
   * The batched reader over the largest group of images whose targets are FrameMaskTargets of one size,
   * level count and threshold (the others are read image by image); null when there is no such image.
   * The tensors live in the caller's tidy scope.
   */
  static tryBuild(targets: ImageTargets[], device?: string): BatchedFrameTargets | null {
    const groups = new Map<string, number[]>();
    targets.forEach((t, b) => {
      const m = t.masks;
      if (m.count === 0 || !(m instanceof FrameMaskTargets)) return;
      const key = `${m.levels}/${m.threshold}/${m.masks.shape[2]}x${m.masks.shape[3]}/${m.masks.device}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key)!.push(b);
    });
    let images: number[] = [];
    let most = 0;
    for (const g of groups.values()) {
      const rows = g.reduce((n, b) => n + targets[b].masks.count, 0);
      if (rows > most) {
        most = rows;
        images = g;
      }
    }
    if (images.length === 0) return null;
    const parts = images.map((b) => targets[b].masks as FrameMaskTargets);
    const rowStart = new Array<number>(targets.length).fill(-1);
    let n = 0;
    images.forEach((b) => {
      rowStart[b] = n;
      n += targets[b].masks.count;
    });
    return new BatchedFrameTargets(
      parts,
      images,
      rowStart,
      parts[0].threshold,
      device ?? parts[0].masks.device,
    );
  }

  /** Whether image b's targets are in this reader. */
  covers(b: number): boolean {
    return this.rowStart[b] >= 0;
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

  /**
   * Row rows[m] (rowStart[image] + target) at level levels[m], read at coords [M, P, 2] -> [M, P]. The pairs
   * of one row sit side by side in its grid (slot j = the row's j-th pair), every row is read at all its
   * levels in one grid_sample, and each pair's level is picked after. Copying each pair's mask out first
   * costs more: at cpu-small sizes these reads are bound by memory traffic, not by arithmetic.
   */
  readPairs(rows: number[], levels: number[], coords: Tensor): Tensor {
    return torch.tidy(() => {
      const device = this.masks.device;
      const [N, K] = [this.rows, this.levels];
      const P = coords.shape[1];
      const used = new Array<number>(N).fill(0);
      const slot = rows.map((r) => used[r]++);
      const J = Math.max(1, ...used);
      const long = (f: (r: number, m: number) => number): Tensor =>
        torch.fromTypedArray(
          BigInt64Array.from(rows, (r, m) => BigInt(f(r, m))),
          [rows.length],
          { device },
        );
      // Each pair to its slot (0 + x is exact); empty slots read (0, 0) and are dropped.
      const grid = torch
        .indexAdd(
          torch.zeros([N * J, P, 2], { device }),
          0,
          long((r, m) => r * J + slot[m]),
          coords.float(),
        )
        .reshape(N, J * P, 2)
        .mul(this.rowScale)
        .add(this.rowOffset);
      const all = torch.gridSample(this.masks, grid.unsqueeze(2), { alignCorners: false }); // [N, K, J*P, 1]
      const picked = all.reshape(N * K * J, P).indexSelect(
        0,
        long((r, m) => (r * K + levels[m]) * J + slot[m]),
      );
      return this.finish(picked);
    });
  }
}
