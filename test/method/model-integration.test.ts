// The method on the real model's outputs: a small WISH model, a batch mixing box / point / full-mask /
// tag images, the CAM-only warm-up, gradients to the right parts, and a few optimiser steps that lower
// the loss on a fixed batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { AdamW } from '../../src/engine/optim/index.ts';
import { composeMaps, cropMap, flipMap, resizeMap } from '../../src/data/augment/frame-map.ts';
import { buildModel } from '../../src/model/build.ts';
import {
  DenseMaskTargets,
  FrameMaskTargets,
  classesOnly,
  wishLoss,
  wishLossConfig,
  type ImageTargets,
} from '../../src/method/index.ts';

const config = {
  numClasses: 3,
  promptDim: 8,
  inputSize: 64,
  backbone: { kind: 'small-cnn', widths: [8, 16, 16, 24], depth: 1 },
  pixelDecoder: { kind: 'fpn', convDim: 16, maskDim: 16 },
  decoder: { hiddenDim: 32, numQueries: 6, nHeads: 2, dimFeedforward: 32, layers: 2 },
};

function batch(): { images: torch.Tensor; targets: ImageTargets[] } {
  const g = new torch.Generator(5);
  // Originals 50 x 40 flipped, resized to 80 x 64 and cropped to the 64 x 64 input.
  const frame = composeMaps(
    composeMaps(flipMap(50, 40), resizeMap(50, 40, 80, 64)),
    cropMap(80, 64, 8, 0, 64, 64),
  );
  const rect = (x0: number, y0: number, x1: number, y1: number): number[][] =>
    Array.from({ length: 40 }, (_, y) =>
      Array.from({ length: 50 }, (_, x) => (x >= x0 && x < x1 && y >= y0 && y < y1 ? 1 : 0)),
    );
  const sam = torch.tensor([
    [rect(5, 5, 20, 25), rect(5, 5, 30, 30), rect(8, 8, 18, 20)],
    [rect(25, 10, 45, 35), rect(20, 5, 48, 38), rect(30, 15, 40, 30)],
  ]); // [2, 3, 40, 50]: three candidate masks per target
  const targets: ImageTargets[] = [
    {
      classes: [0, 2],
      masks: new FrameMaskTargets(sam, frame),
      prompts: { kind: 'box', latents: torch.randn([2, 2, 8], { generator: g }) },
    },
    {
      classes: [1],
      masks: new FrameMaskTargets(sam.narrow(0, 1, 1), frame),
      prompts: { kind: 'point', latents: torch.randn([1, 2, 8], { generator: g }) },
    },
    {
      classes: [2],
      masks: new DenseMaskTargets(torch.rand([1, 64, 64], { generator: g }).gt(0.7)), // a full mask in the input frame
    },
    classesOnly([0, 1]),
  ];
  return { images: torch.randn([4, 3, 64, 64], { generator: g }), targets };
}

test('real model outputs: warm-up trains the CAM only; afterwards every head gets a gradient', () => {
  torch.manualSeed(0);
  const model = buildModel(config);
  model.train();
  const { images, targets } = batch();
  const cfg = wishLossConfig({ numPoints: 64, matcher: { numPoints: 64 }, warmupIterations: 5 });
  const named = model.namedParameters();
  const gradNorm = (prefix: string): number =>
    named
      .filter(([n]) => n.startsWith(prefix))
      .reduce((s, [, p]) => s + (p.grad ? p.grad.abs().sum().item() : 0), 0);

  const warm = wishLoss(model.forward(images), targets, cfg, {
    iteration: 0,
    generator: new torch.Generator(1),
  });
  assert.deepEqual(Object.keys(warm.terms), ['loss_cam']);
  warm.total.backward();
  assert.ok(gradNorm('cam_head') > 0 && gradNorm('backbone') > 0);
  assert.equal(gradNorm('predictor'), 0, 'no decoder gradient during the warm-up');
  model.zeroGrad();

  const out = wishLoss(model.forward(images), targets, cfg, {
    iteration: 5,
    generator: new torch.Generator(1),
  });
  assert.ok(Number.isFinite(out.total.item()));
  assert.equal(out.matches.length, 4);
  assert.deepEqual(
    out.matches.map((m) => m.queries.length),
    [2, 1, 1, 0],
  );
  assert.ok(out.matches[0].levels.every((l) => l >= 0 && l < 3));
  assert.ok(
    'loss_ce_0' in out.terms && 'loss_ce_1' in out.terms,
    'deep supervision over both earlier predictions',
  );
  out.total.backward();
  for (const part of ['predictor', 'pixel_decoder', 'backbone', 'cam_head'])
    assert.ok(gradNorm(part) > 0, part);
  model.dispose();
});

test('a few AdamW steps on a fixed batch lower the WISH loss', () => {
  torch.manualSeed(1);
  const model = buildModel(config);
  model.train();
  const { images, targets } = batch();
  const cfg = wishLossConfig({ numPoints: 64, matcher: { numPoints: 64 } });
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0 });
  const lossAt = (): number =>
    torch.tidy(() => {
      const out = wishLoss(model.forward(images), targets, cfg, {
        iteration: 0,
        generator: new torch.Generator(2),
      });
      const v = out.total.item();
      out.total.backward();
      return v;
    });
  const first = lossAt();
  for (let i = 0; i < 8; i++) {
    opt.step();
    opt.zeroGrad();
    lossAt();
  }
  opt.zeroGrad();
  const last = lossAt();
  assert.ok(last < first * 0.9, `loss ${first} -> ${last}`);
  model.dispose();
});
