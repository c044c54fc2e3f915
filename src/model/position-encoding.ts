// DETR's sine position encoding, normalised as Mask2Former uses it (normalize=True, scale 2*pi, no padding
// mask): channel k of the y half is sin (k even) or cos (k odd) of y / T^(2*floor(k/2)/F) with
// y = row / (rows + 1e-6) * 2*pi and row counted from 1; the x half likewise; output [y half, x half].
// It depends only on (H, W, F), so tables are computed once per shape and device and shared (read-only).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { deviceConstant } from './device-constants.ts';

/** One encoding table [1, 2F, H, W]. Do not modify it in place (it is shared). */
function table(h: number, w: number, numPosFeats: number, temperature: number, device: string): Tensor {
  return deviceConstant(`sine-position/${h}x${w}x${numPosFeats}x${temperature}`, device, (dev) => {
    const f = numPosFeats;
    const scale = 2 * Math.PI;
    const eps = 1e-6;
    const dimT = new Float64Array(f);
    for (let k = 0; k < f; k++) dimT[k] = temperature ** ((2 * Math.floor(k / 2)) / f);
    const out = new Float32Array(2 * f * h * w);
    for (let k = 0; k < f; k++) {
      const trig = k % 2 === 0 ? Math.sin : Math.cos;
      for (let y = 0; y < h; y++) {
        const vy = trig((((y + 1) / (h + eps)) * scale) / dimT[k]);
        for (let x = 0; x < w; x++) {
          const vx = trig((((x + 1) / (w + eps)) * scale) / dimT[k]);
          out[(k * h + y) * w + x] = vy;
          out[((f + k) * h + y) * w + x] = vx;
        }
      }
    }
    return torch.fromTypedArray(out, [1, 2 * f, h, w], { device: dev });
  });
}

/**
 * Sine position encoding of a feature map x [B, C, H, W] -> [B, 2 * numPosFeats, H, W] (a broadcast view
 * of a shared table; Mask2Former's PositionEmbeddingSine(numPosFeats, normalize=True)).
 */
export function sinePositionEncoding(x: Tensor, numPosFeats: number, temperature = 10000): Tensor {
  const [b, , h, w] = x.shape;
  if (!Number.isInteger(numPosFeats) || numPosFeats <= 0 || numPosFeats % 2 !== 0) {
    throw new Error(`sinePositionEncoding: numPosFeats must be a positive even integer, got ${numPosFeats}`);
  }
  return table(h, w, numPosFeats, temperature, x.device).expand(b, 2 * numPosFeats, h, w);
}
