// Point sampling as Mask2Former does it: masks are compared on a few thousand points instead of every
// pixel. Coordinates are normalised to [0, 1] over the mask's frame, x first: (0, 0) is the top-left
// corner of the top-left pixel and (1, 1) the bottom-right corner of the bottom-right one
// (grid_sample with align_corners = false), so one coordinate means the same image location at any mask
// resolution.
import * as torch from '../engine/index.ts';
import type { Generator, Tensor } from '../engine/index.ts';

/**
 * Bilinear values of maps at normalised points (Mask2Former's point_sample): maps [N, C, H, W] or
 * [N, H, W], coords [N, P, 2] in [0, 1] -> [N, C, P] or [N, P]. Points outside read 0 (zero padding).
 */
export function pointSample(maps: Tensor, coords: Tensor): Tensor {
  const squeeze = maps.ndim === 3;
  if (maps.ndim !== 3 && maps.ndim !== 4) {
    throw new Error(`pointSample: maps must be [N, C, H, W] or [N, H, W], got [${maps.shape.join(', ')}]`);
  }
  const c = coords.shape;
  if (c.length !== 3 || c[2] !== 2 || c[0] !== maps.shape[0]) {
    throw new Error(`pointSample: coords must be [N, P, 2] with N = ${maps.shape[0]}, got [${c.join(', ')}]`);
  }
  return torch.tidy(() => {
    const input = squeeze ? maps.unsqueeze(1) : maps;
    const grid = coords.mul(2).sub(1).unsqueeze(2); // [N, P, 1, 2] in [-1, 1]
    const out = torch.gridSample(input, grid, { alignCorners: false }).squeeze(3); // [N, C, P]
    return squeeze ? out.squeeze(1) : out;
  });
}

/**
 * n x p points uniform in [0, 1]^2 on `device`: [n, p, 2]. Drawn where the generator lives: a CPU generator
 * gives the same points on any device (drawn on the CPU, then moved); a generator on the device draws
 * there, as Mask2Former does on a GPU (at paper sizes the CPU draw and copy cost more than the rest of the
 * loss). Without a generator, the device's default one draws.
 */
export function uniformPoints(n: number, p: number, generator?: Generator, device = 'cpu'): Tensor {
  const target = torch.canonicalDevice(device);
  if ((generator?.device ?? target) === target) return torch.rand([n, p, 2], { generator, device: target });
  return torch.tidy(() => torch.rand([n, p, 2], { generator }).to(target));
}

/** Mask2Former's calculate_uncertainty: points whose logit is near 0 are the least certain. */
export const uncertainty = (logits: Tensor): Tensor => torch.tidy(() => logits.abs().neg());

/**
 * Mask2Former's get_uncertain_point_coords_with_randomness: draw oversample * P uniform points, keep
 * the importance * P whose logits are most uncertain, and fill the rest with fresh uniform points.
 * coarseLogits [N, 1, H, W] or [N, H, W] -> coords [N, P, 2]. Call without gradients.
 */
export function uncertainPointCoordsWithRandomness(
  coarseLogits: Tensor,
  numPoints: number,
  oversampleRatio: number,
  importanceSampleRatio: number,
  generator?: Generator,
): Tensor {
  if (oversampleRatio < 1) throw new RangeError(`oversampleRatio must be >= 1, got ${oversampleRatio}`);
  if (!(importanceSampleRatio >= 0 && importanceSampleRatio <= 1)) {
    throw new RangeError(`importanceSampleRatio must be in [0, 1], got ${importanceSampleRatio}`);
  }
  const n = coarseLogits.shape[0];
  const device = coarseLogits.device;
  const numSampled = Math.trunc(numPoints * oversampleRatio);
  const numUncertain = Math.trunc(importanceSampleRatio * numPoints);
  const numRandom = numPoints - numUncertain;
  return torch.tidy(() => {
    const pieces: Tensor[] = [];
    if (numUncertain > 0) {
      const candidates = uniformPoints(n, numSampled, generator, device); // [N, S, 2]
      const logits = pointSample(
        coarseLogits.ndim === 3 ? coarseLogits : coarseLogits.squeeze(1),
        candidates,
      );
      // Unsorted top-k: the chosen set is Mask2Former's, its order does not matter (means over points), and
      // skipping the sort halves the cost.
      const idx = uncertainty(logits).topk(numUncertain, 1, true, false).indices; // [N, U]
      pieces.push(candidates.gather(1, idx.unsqueeze(2).expand(n, numUncertain, 2)));
    }
    if (numRandom > 0) pieces.push(uniformPoints(n, numRandom, generator, device));
    return pieces.length === 1 ? pieces[0] : torch.cat(pieces, 1);
  });
}
