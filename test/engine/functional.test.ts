// Functional NN ops and losses against torch 1.13 reference values (test/engine/reference/gen_functional.py),
// plus hand-checked small cases.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';

const ref = JSON.parse(
  readFileSync(new URL('./reference/functional-expected.json', import.meta.url), 'utf8'),
) as Record<string, { shape: number[]; values: number[] }>;

/** sin(arange(numel) * a).reshape(shape): the generator's deterministic inputs. */
function seq(shape: number[], a: number): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  return torch.arange(n, undefined, 1, { dtype: 'float32' }).mul(a).sin().reshape(shape);
}

function close(name: string, t: Tensor, tol = 1e-5): void {
  const r = ref[name];
  assert.ok(r, `no reference for ${name}`);
  assert.deepEqual(t.shape, r.shape, `${name}: shape`);
  const got = t.toFloat32Array();
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - r.values[i]);
    assert.ok(
      diff <= tol * (1 + Math.abs(r.values[i])),
      `${name}[${i}]: got ${got[i]}, expected ${r.values[i]}`,
    );
  }
}

test('conv2d, grouped/dilated conv2d and convTranspose2d match PyTorch', () => {
  close(
    'conv2d',
    torch.conv2d(seq([1, 2, 5, 5], 0.37), seq([3, 2, 3, 3], 0.53), seq([3], 0.91), { stride: 2, padding: 1 }),
  );
  close(
    'conv2d_groups_dil',
    torch.conv2d(seq([1, 4, 6, 6], 0.21), seq([4, 2, 3, 3], 0.43), null, {
      padding: 2,
      dilation: 2,
      groups: 2,
    }),
  );
  close(
    'conv_transpose2d',
    torch.convTranspose2d(seq([1, 2, 3, 3], 0.29), seq([2, 3, 3, 3], 0.61), seq([3], 0.7), {
      stride: 2,
      padding: 1,
      outputPadding: 1,
    }),
  );
});

test('interpolate: bilinear with alignCorners false and true, scale factor, nearest, bicubic, antialias', () => {
  const img = seq([1, 1, 3, 4], 0.77);
  close(
    'interp_bilinear_ac_false',
    torch.interpolate(img, { size: [5, 7], mode: 'bilinear', alignCorners: false }),
  );
  close(
    'interp_bilinear_ac_true',
    torch.interpolate(img, { size: [5, 7], mode: 'bilinear', alignCorners: true }),
  );
  close('interp_bilinear_scale', torch.interpolate(img, { scaleFactor: 1.5, mode: 'bilinear' }));
  close('interp_nearest', torch.interpolate(img, { size: [5, 7] }));
  close(
    'interp_bicubic_ac_true',
    torch.interpolate(img, { size: [6, 8], mode: 'bicubic', alignCorners: true }),
  );
  close(
    'interp_bilinear_aa',
    torch.interpolate(seq([1, 1, 8, 8], 0.33), { size: [3, 3], mode: 'bilinear', antialias: true }),
  );
  // alignCorners=true keeps the corner pixels exactly
  const up = torch.interpolate(img, { size: [5, 7], mode: 'bilinear', alignCorners: true });
  assert.equal(up.index(0, 0, 0, 0).item(), img.index(0, 0, 0, 0).item());
  assert.equal(up.index(0, 0, 4, 6).item(), img.index(0, 0, 2, 3).item());
  assert.throws(
    () => torch.interpolate(img, { size: [2, 2], mode: 'nearest', alignCorners: true }),
    /alignCorners/,
  );
});

test('gridSample matches PyTorch (bilinear/zeros and nearest/border/alignCorners)', () => {
  const img = seq([1, 1, 3, 4], 0.77);
  const grid = seq([1, 2, 3, 2], 0.45).mul(1.2);
  close('grid_sample_bilinear', torch.gridSample(img, grid));
  close(
    'grid_sample_nearest_border_ac',
    torch.gridSample(img, grid, { mode: 'nearest', paddingMode: 'border', alignCorners: true }),
  );
  // identity grid with alignCorners reproduces the image
  const theta = torch.tensor([
    [
      [1, 0, 0],
      [0, 1, 0],
    ],
  ]);
  const id = torch.gridSample(img, torch.affineGrid(theta, [1, 1, 3, 4], true), { alignCorners: true });
  assert.ok(torch.allclose(id, img, 1e-5, 1e-6));
});

test('softmax, logSoftmax and exact (erf) gelu', () => {
  const logits = seq([4, 5], 0.83).mul(3);
  close('softmax', torch.softmax(logits, 1));
  close('log_softmax', logits.logSoftmax(0));
  close('gelu', torch.gelu(seq([7], 0.9).mul(3)));
  // gelu(1) = 0.5 * (1 + erf(1/sqrt 2)) = 0.8413447460685429
  assert.ok(Math.abs(torch.gelu(torch.tensor([1])).item() - 0.8413447460685429) < 1e-6);
  assert.ok(Math.abs(torch.gelu(torch.tensor([1]), 'tanh').item() - 0.8411919906082768) < 1e-6);
});

test('crossEntropy with class weights, ignore index, label smoothing, spatial targets', () => {
  const logits = seq([4, 5], 0.83).mul(3);
  const target = torch.tensor([1, 4, -100, 0], { dtype: 'int64' });
  const cw = torch.tensor([0.5, 1.0, 2.0, 1.5, 3.0]);
  close('ce_weight_ignore', torch.crossEntropy(logits, target, { weight: cw }));
  const t2 = torch.tensor([1, 4, 2, 0], { dtype: 'int64' });
  close('ce_none', torch.crossEntropy(logits, t2, { reduction: 'none' }));
  close('ce_smooth', torch.crossEntropy(logits, t2, { labelSmoothing: 0.1 }));
  const st = torch.tensor(
    [
      [
        [0, 1],
        [2, 255],
      ],
      [
        [255, 2],
        [1, 0],
      ],
    ],
    { dtype: 'int64' },
  );
  close('ce_spatial_ignore', torch.crossEntropy(seq([2, 3, 2, 2], 0.4).mul(2), st, { ignoreIndex: 255 }));
  // hand case: uniform logits over 4 classes -> log 4
  assert.ok(
    Math.abs(
      torch.crossEntropy(torch.zeros([1, 4]), torch.tensor([2], { dtype: 'int64' })).item() - Math.log(4),
    ) < 1e-6,
  );
  assert.throws(() => torch.crossEntropy(logits, torch.tensor([1, 2, 3, 0])), /Long|Float|expected/i);
});

test('binary cross-entropy with logits (with posWeight) and KL divergence', () => {
  const bl = seq([3, 4], 0.71).mul(4);
  const bt = seq([3, 4], 1.3).gt(0).float();
  close('bce_logits', torch.binaryCrossEntropyWithLogits(bl, bt));
  close(
    'bce_logits_posw',
    torch.binaryCrossEntropyWithLogits(bl, bt, { posWeight: torch.tensor([1, 2, 0.5, 3]) }),
  );
  const lp = torch.logSoftmax(seq([3, 4], 0.61), 1);
  const tp = torch.softmax(seq([3, 4], 0.19).mul(2), 1);
  close('kl_batchmean', torch.klDiv(lp, tp, { reduction: 'batchmean' }));
  close('kl_none', torch.klDiv(lp, tp, { reduction: 'none' }));
  // hand case: BCE-with-logits at logit 0 is log 2 whatever the target
  assert.ok(
    Math.abs(
      torch.binaryCrossEntropyWithLogits(torch.zeros([3]), torch.tensor([0, 1, 0.5])).item() - Math.log(2),
    ) < 1e-6,
  );
});

test('layerNorm, groupNorm, pooling', () => {
  close('layer_norm', torch.layerNorm(seq([2, 3, 4], 0.5), [4], seq([4], 0.3), seq([4], 0.8)));
  close('group_norm', torch.groupNorm(seq([2, 4, 3, 3], 0.25), 2, seq([4], 0.3), seq([4], 0.8)));
  close('max_pool', torch.maxPool2d(seq([1, 2, 5, 5], 0.37), 3, { stride: 2, padding: 1 }));
  close('avg_pool_ceil', torch.avgPool2d(seq([1, 2, 5, 5], 0.37), 2, { ceilMode: true }));
  close('adaptive_avg', torch.adaptiveAvgPool2d(seq([1, 2, 5, 7], 0.37), [2, 3]));
});

test('batchNorm in training mode normalises and updates running stats', () => {
  const x = torch.tensor([[1], [3]]).reshape([2, 1, 1, 1]);
  const rm = torch.zeros([1]);
  const rv = torch.ones([1]);
  const y = torch.batchNorm(x, rm, rv, { training: true, momentum: 0.5, eps: 0 });
  assert.deepEqual(y.flatten().toArray(), [-1, 1]);
  assert.deepEqual(rm.toArray(), [1]); // 0.5 * 0 + 0.5 * mean 2
  assert.deepEqual(rv.toArray(), [1.5]); // 0.5 * 1 + 0.5 * unbiased var 2
});

test('scaledDotProductAttention equals the composed formula, with bool and float masks and causal', () => {
  const q = seq([2, 3, 4, 8], 0.31);
  const k = seq([2, 3, 6, 8], 0.47);
  const v = seq([2, 3, 6, 5], 0.59);
  const composed = (mask?: Tensor, causal = false): Tensor => {
    let s = q.matmul(k.transpose(-2, -1)).div(Math.sqrt(8));
    if (causal) s = s.maskedFill(torch.ones([4, 6], { dtype: 'bool' }).tril().logicalNot(), -Infinity);
    if (mask) s = mask.dtype === 'bool' ? s.maskedFill(mask.logicalNot(), -Infinity) : s.add(mask);
    return s.softmax(-1).matmul(v);
  };
  assert.ok(torch.allclose(torch.scaledDotProductAttention(q, k, v), composed(), 1e-5, 1e-6));
  const boolMask = seq([4, 6], 0.9).gt(-0.5);
  assert.ok(
    torch.allclose(
      torch.scaledDotProductAttention(q, k, v, { attnMask: boolMask }),
      composed(boolMask),
      1e-5,
      1e-6,
    ),
  );
  const floatMask = seq([1, 1, 4, 6], 0.4);
  assert.ok(
    torch.allclose(
      torch.scaledDotProductAttention(q, k, v, { attnMask: floatMask }),
      composed(floatMask),
      1e-5,
      1e-6,
    ),
  );
  assert.ok(
    torch.allclose(
      torch.scaledDotProductAttention(q, k, v, { isCausal: true }),
      composed(undefined, true),
      1e-5,
      1e-6,
    ),
  );
  assert.throws(() => torch.scaledDotProductAttention(q, seq([2, 3, 6, 7], 0.1), v), /embed dims differ/);
});

test('dropout, embedding and oneHot', () => {
  torch.manualSeed(3);
  const x = torch.ones([1000]);
  const d = torch.dropout(x, 0.25, true);
  const kept = d.ne(0).sum().item();
  assert.ok(kept > 650 && kept < 850, `kept ${kept}`);
  assert.ok(Math.abs(d.max().item() - 1 / 0.75) < 1e-6);
  assert.deepEqual(torch.dropout(x, 0.25, false).sum().item(), 1000);
  const w = torch.tensor([
    [0, 1],
    [2, 3],
    [4, 5],
  ]);
  assert.deepEqual(torch.embedding(torch.tensor([[2, 0]], { dtype: 'int64' }), w).toArray(), [
    [
      [4, 5],
      [0, 1],
    ],
  ]);
  assert.deepEqual(torch.oneHot(torch.tensor([1, 0], { dtype: 'int64' }), 3).toArray(), [
    [0, 1, 0],
    [1, 0, 0],
  ]);
});

test('interpolate area / nearest-exact / bicubic, gridSample bicubic+reflection, pad modes, conv1d', () => {
  const img = seq([1, 1, 3, 4], 0.77);
  close('interp_area', torch.interpolate(seq([1, 2, 6, 9], 0.37), { size: [4, 5], mode: 'area' }));
  close('interp_nearest_exact', torch.interpolate(img, { size: [5, 7], mode: 'nearest-exact' }));
  close('interp_bicubic_ac_false', torch.interpolate(img, { size: [6, 8], mode: 'bicubic' }));
  const grid = seq([1, 2, 3, 2], 0.45).mul(1.2);
  close(
    'grid_sample_bicubic_reflection',
    torch.gridSample(img, grid, { mode: 'bicubic', paddingMode: 'reflection' }),
  );
  close('pad_reflect', torch.pad(img, [2, 1, 1, 2], 'reflect'));
  close('pad_replicate', torch.pad(img, [1, 2, 2, 0], 'replicate'));
  close('pad_constant', torch.pad(img, [1, 0, 0, 1], 'constant', -2));
  close(
    'conv1d',
    torch.conv1d(seq([2, 3, 7], 0.3), seq([4, 3, 3], 0.7), seq([4], 0.2), { stride: 2, padding: 1 }),
  );
});

test('pooling with indices and the remaining losses match PyTorch', () => {
  const { values, indices } = torch.maxPool2dWithIndices(seq([1, 2, 5, 5], 0.37), 2);
  close('max_pool_values', values);
  close('max_pool_indices', indices);
  close('adaptive_max', torch.adaptiveMaxPool2d(seq([1, 2, 5, 7], 0.37), [2, 3]));
  const a = seq([3, 4], 0.3).mul(2);
  const b = seq([3, 4], 0.7);
  close('smooth_l1', torch.smoothL1Loss(a, b, 'mean', 0.5));
  close('huber', torch.huberLoss(a, b, 'mean', 0.7));
  close('mse_sum', torch.mseLoss(a, b, 'sum'));
  close('l1_none', torch.l1Loss(a, b, 'none'));
  const logits = seq([4, 5], 0.83).mul(3);
  const cw = torch.tensor([0.5, 1.0, 2.0, 1.5, 3.0]);
  close(
    'nll_weight',
    torch.nllLoss(logits.logSoftmax(1), torch.tensor([1, 4, 2, 0], { dtype: 'int64' }), { weight: cw }),
  );
  const bl = seq([3, 4], 0.71).mul(4);
  const bt = seq([3, 4], 1.3).gt(0).float();
  close('bce_probs', torch.binaryCrossEntropy(bl.sigmoid(), bt, { weight: torch.tensor([1, 2, 0.5, 3]) }));
  close('ce_prob_targets', torch.crossEntropy(logits, torch.softmax(seq([4, 5], 0.17), 1)));
});
