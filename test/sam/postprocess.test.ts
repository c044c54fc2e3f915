// Postprocessing: bilinear resize / crop / resize against a hand-computed case and a plain-JS bilinear
// (align_corners false, PyTorch's edge clamping); stability score by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { postprocessMasks, stabilityScore } from '../../src/sam/postprocess.ts';
import { maxAbsDiff } from './fixture.ts';

/** Bilinear resize of one h x w plane to H x W, align_corners false, as PyTorch's CPU kernel. */
function bilinearRef(src: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const axis = (n: number, N: number, i: number): [number, number, number] => {
    const s = Math.max(0, (n / N) * (i + 0.5) - 0.5);
    const i0 = Math.floor(s);
    const i1 = i0 < n - 1 ? i0 + 1 : i0;
    return [i0, i1, s - i0];
  };
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    const [y0, y1, ly] = axis(h, H, y);
    for (let x = 0; x < W; x++) {
      const [x0, x1, lx] = axis(w, W, x);
      const top = src[y0 * w + x0] * (1 - lx) + src[y0 * w + x1] * lx;
      const bot = src[y1 * w + x0] * (1 - lx) + src[y1 * w + x1] * lx;
      out[y * W + x] = top * (1 - ly) + bot * ly;
    }
  }
  return out;
}

test('postprocessMasks by hand: 2x2 ramp -> 4x4, crop 3x2, same size', () => {
  torch.tidy(() => {
    const low = torch.tensor([
      [
        [
          [0, 1],
          [2, 3],
        ],
      ],
    ]);
    const out = postprocessMasks(low, { imgSize: 4, inputSize: [3, 2], originalSize: [3, 2] });
    assert.deepEqual(out.shape, [1, 1, 3, 2]);
    // x and y sample the ramp at 0, 0.25, 0.75, 1 (edges clamp); value = 2y + x.
    assert.deepEqual(Array.from(out.toFloat32Array()), [0, 0.25, 0.5, 0.75, 1.5, 1.75]);
  });
});

test('postprocessMasks equals resize -> crop -> resize with a plain-JS bilinear', () => {
  torch.tidy(() => {
    torch.manualSeed(7);
    const [h, w, L] = [16, 16, 64];
    const inputSize: [number, number] = [48, 64];
    const originalSize: [number, number] = [75, 100];
    const low = torch.randn([2, 3, h, w]);
    const out = postprocessMasks(low, { imgSize: L, inputSize, originalSize });
    assert.deepEqual(out.shape, [2, 3, ...originalSize]);
    const data = low.toFloat32Array();
    const got = out.toFloat32Array();
    for (let p = 0; p < 6; p++) {
      const full = bilinearRef(data.subarray(p * h * w, (p + 1) * h * w), h, w, L, L);
      const crop = new Float64Array(inputSize[0] * inputSize[1]);
      for (let y = 0; y < inputSize[0]; y++)
        for (let x = 0; x < inputSize[1]; x++) crop[y * inputSize[1] + x] = full[y * L + x];
      const want = bilinearRef(crop, inputSize[0], inputSize[1], originalSize[0], originalSize[1]);
      const n = originalSize[0] * originalSize[1];
      assert.ok(maxAbsDiff(got.subarray(p * n, (p + 1) * n), want) < 1e-5, `plane ${p}`);
    }
  });
});

test('postprocessMasks refuses an input size beyond the model input', () => {
  torch.tidy(() => {
    assert.throws(
      () =>
        postprocessMasks(torch.zeros([1, 1, 4, 4]), {
          imgSize: 16,
          inputSize: [17, 4],
          originalSize: [5, 5],
        }),
      /exceeds the 16x16 model input/,
    );
  });
});

test('stability score by hand: #(> t + 1) / #(> t - 1) per mask; empty masks score 0', () => {
  torch.tidy(() => {
    const logits = torch.tensor([
      [
        [-2, -0.5, 0.5],
        [1.5, 3, -1],
      ],
      [
        [-5, -5, -5],
        [-5, -5, -5],
      ],
      [
        [0.2, 0.9, 1.0],
        [1.01, -0.99, 7],
      ],
    ]);
    const s = Array.from(stabilityScore(logits).toFloat32Array());
    assert.deepEqual(s, [Math.fround(2 / 4), 0, Math.fround(2 / 6)]);
    // Threshold shifts both cut-offs: with t = 1, offset 0.5 -> #(> 1.5) / #(> 0.5).
    const t = Array.from(stabilityScore(logits, 1, 0.5).toFloat32Array());
    assert.deepEqual(t, [1 / 2, 0, 1 / 4]);
  });
});
