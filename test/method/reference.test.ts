// src/method against torch 1.13 golden values (scripts/make-method-fixtures.py): Mask2Former's point
// sampling and mask losses, prompt KL, SAM targets at points, and a whole WISH loss (matching with the
// min over SAM levels, Eq. 15 on two layers, Eq. 17, Eq. 19, Eq. 20) including its gradients.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import type { FrameMap } from '../../src/data/augment/frame-map.ts';
import {
  DenseMaskTargets,
  SamMaskTargets,
  diceLoss,
  pairwiseDice,
  pairwisePromptKl,
  pairwiseSigmoidCe,
  pointSample,
  sampleSamLogits,
  sigmoidCeLoss,
  uncertainPointCoordsWithRandomness,
  wishLoss,
  wishLossConfig,
  mergedClassMasks,
  type ImageTargets,
  type LayerPrediction,
} from '../../src/method/index.ts';

type Ref = { shape: number[]; values: number[] };
const ref = JSON.parse(
  readFileSync(new URL('./reference/method-expected.json', import.meta.url), 'utf8'),
) as Record<string, Ref> & {
  wish: {
    terms: Record<string, number>;
    total: number;
    matches: { queries: number[]; targets: number[]; levels: number[] }[][];
    merged: Ref;
    grad_logits: Ref;
    grad_masks: Ref;
    grad_box: Ref;
    grad_point: Ref;
    grad_cams: Ref;
  };
};

/** sin(arange(numel) * a) * scale, reshaped: the generator's deterministic inputs. */
function seq(shape: number[], a: number, scale = 1): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  return torch.arange(n, undefined, 1, { dtype: 'float32' }).mul(a).sin().mul(scale).reshape(shape);
}
const unit = (shape: number[], a: number): Tensor => seq(shape, a).add(1).div(2);

function close(name: string, t: Tensor | null, r: Ref, tol = 1e-5): void {
  assert.ok(t, `${name}: missing tensor`);
  assert.deepEqual(t.shape, r.shape, `${name}: shape`);
  const got = t.toFloat32Array();
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i] - r.values[i]) <= tol * (1 + Math.abs(r.values[i])),
      `${name}[${i}]: got ${got[i]}, expected ${r.values[i]}`,
    );
  }
}

test('point sampling, pairwise and per-match CE / dice, prompt KL match the PyTorch restatement', () => {
  close('point_sample', pointSample(seq([2, 1, 5, 6], 0.37, 3), unit([2, 7, 2], 0.91)), ref.point_sample);
  const x = seq([4, 9], 0.53, 4);
  const t = seq([3, 9], 0.71).gt(0).float();
  close('pair_ce', pairwiseSigmoidCe(x, t), ref.pair_ce);
  close('pair_dice', pairwiseDice(x, t), ref.pair_dice);
  const xm = seq([3, 9], 0.29, 3);
  close('ce_loss', sigmoidCeLoss(xm, t, 2), ref.ce_loss);
  close('dice_loss', diceLoss(xm, t, 2), ref.dice_loss);
  close('pair_kl', pairwisePromptKl(seq([4, 2, 6], 0.43, 2), seq([3, 2, 6], 0.67, 2)), ref.pair_kl);
});

test('importance sampling draws the same points as Mask2Former from the same generator', () => {
  const g = new torch.Generator(11);
  const coords = uncertainPointCoordsWithRandomness(seq([3, 1, 5, 5], 0.83, 2), 10, 3, 0.75, g);
  // The same set of points per mask (the importance part's order is free; the random part follows it).
  const rows = (flat: ArrayLike<number>): string[][] =>
    [0, 1, 2].map((n) =>
      Array.from(
        { length: 10 },
        (_, i) => `${flat[(n * 10 + i) * 2].toFixed(6)},${flat[(n * 10 + i) * 2 + 1].toFixed(6)}`,
      ),
    );
  const got = rows(coords.toFloat32Array());
  const want = rows(Float32Array.from(ref.uncertain_coords.values));
  assert.deepEqual(coords.shape, ref.uncertain_coords.shape);
  for (let n = 0; n < 3; n++) {
    assert.deepEqual(got[n].slice(0, 7).sort(), want[n].slice(0, 7).sort(), `mask ${n}: importance points`);
    assert.deepEqual(got[n].slice(7), want[n].slice(7), `mask ${n}: random points`);
  }
});

const FRAME0: FrameMap = {
  sx: -0.5,
  tx: 13,
  sy: 0.5,
  ty: 0,
  srcWidth: 28,
  srcHeight: 20,
  dstWidth: 12,
  dstHeight: 12,
};
const GEO0 = {
  imgSize: 32,
  inputSize: [23, 32] as [number, number],
  originalSize: [20, 28] as [number, number],
};

test('SAM logits at augmented-frame points equal the postprocess chain sampled by grid_sample', () => {
  const got = sampleSamLogits(seq([2, 3, 8, 8], 0.61, 5), GEO0, FRAME0, unit([1, 40, 2], 0.77));
  close('sam_at_points', got, ref.sam_at_points, 1e-4);
});

test('the whole WISH loss (two layers, SAM and full-mask images) matches PyTorch, values and gradients', () => {
  const B = 2;
  const Q = 4;
  const C = 3;
  const h = 6;
  const Dp = 8;
  const layers: LayerPrediction[] = [0, 1].map((li) => ({
    predLogits: seq([B, Q, C + 1], 0.31 + li * 0.1, 2).requiresGrad_(),
    predMasks: seq([B, Q, h, h], 0.17 + li * 0.05, 6).requiresGrad_(),
    predPrompts: {
      point: seq([B, Q, 2, Dp], 0.23 + li * 0.07, 2).requiresGrad_(),
      box: seq([B, Q, 2, Dp], 0.41 + li * 0.03, 2).requiresGrad_(),
    },
  }));
  const cams = seq([B, C, 3, 3], 0.47, 3).requiresGrad_();
  const targets: ImageTargets[] = [
    {
      classes: [2, 0],
      masks: new SamMaskTargets(seq([2, 3, 8, 8], 0.61, 5), GEO0, FRAME0),
      prompts: { kind: 'box', latents: seq([2, 2, Dp], 0.37, 2) },
    },
    {
      classes: [1],
      masks: new DenseMaskTargets(seq([1, 12, 12], 0.13).gt(0.2)),
      prompts: { kind: 'point', latents: seq([1, 2, Dp], 0.59, 2) },
      imageClasses: [1, 2],
    },
  ];
  const config = wishLossConfig({
    matcher: { numPoints: 20 },
    numPoints: 15,
    selfScoreThreshold: 0.3,
    // the reference computes Eq. 19 on sigmoid(CAM logits) over every map
    selfCamNorm: 'logits',
    selfSkipEmpty: false,
  });
  const out = wishLoss(
    { ...layers[0], aux: [layers[1]], camMaps: cams, camLogits: cams.mean([2, 3]) },
    targets,
    config,
    { iteration: 0, generator: new torch.Generator(7) },
  );
  const w = ref.wish;
  assert.deepEqual(Object.keys(out.terms).sort(), Object.keys(w.terms).sort());
  for (const [k, v] of Object.entries(w.terms)) {
    const got = out.terms[k].item();
    assert.ok(Math.abs(got - v) <= 1e-4 * (1 + Math.abs(v)), `${k}: got ${got}, expected ${v}`);
  }
  assert.ok(Math.abs(out.total.item() - w.total) < 1e-4 * w.total, `total ${out.total.item()} vs ${w.total}`);
  assert.deepEqual(out.matches, w.matches[0]);
  const merged = mergedClassMasks(layers[0].predLogits, layers[0].predMasks, targets, 0.3, 0.5);
  close('merged', merged, w.merged);
  assert.ok(merged.sum().item() > 0, 'the case exercises a non-empty L_self target');
  out.total.backward();
  close('grad_logits', layers[0].predLogits.grad, w.grad_logits, 1e-4);
  close('grad_masks', layers[0].predMasks.grad, w.grad_masks, 1e-4);
  close('grad_box', layers[0].predPrompts.box.grad, w.grad_box, 1e-4);
  close('grad_point', layers[0].predPrompts.point.grad, w.grad_point, 1e-4);
  close('grad_cams', cams.grad, w.grad_cams, 1e-4);
});
