// Eq. 15, 17, 19, 20 on tiny tensors with values worked out by hand; where gradients go; the warm-up.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import {
  camLoss,
  classesOnly,
  lossPhase,
  mergedClassMasks,
  selfEnhancementLoss,
  setLoss,
  wishLoss,
  wishLossConfig,
  type ImageMatch,
  type ImageTargets,
  type LayerPrediction,
} from '../../src/method/index.ts';
import { ConstantMaskTargets, logitsOf } from './fakes.ts';

const approx = (a: number, b: number, tol = 1e-5, what = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what} got ${a}, expected ${b}`);
const softplus = (x: number): number => Math.log1p(Math.exp(x));
const bce = (x: number, t: number): number => softplus(x) - x * t;
const gradOf = (t: Tensor): Tensor | null => t.grad;

/** One image, two queries, C = 1; q0 matched to target 0 (class 0), q1 unmatched. */
function tiny(requiresGrad = true): {
  pred: LayerPrediction;
  targets: ImageTargets[];
  matches: ImageMatch[];
} {
  const pred: LayerPrediction = {
    // q0: p(class 0) = 0.75 ; q1: p(no-object) = 0.5
    predLogits: logitsOf([
      [0.75, 0.25],
      [0.5, 0.5],
    ])
      .unsqueeze(0)
      .requiresGrad_(requiresGrad),
    predMasks: torch.zeros([1, 2, 4, 4]).requiresGrad_(requiresGrad), // sigmoid 0.5 everywhere
    predPrompts: {
      point: torch
        .tensor([
          [
            [
              [0, Math.log(3)],
              [1, 2],
            ],
            [
              [5, 5],
              [5, 5],
            ],
          ],
        ])
        .requiresGrad_(requiresGrad),
      box: torch.zeros([1, 2, 2, 2]).requiresGrad_(requiresGrad),
    },
  };
  const targets: ImageTargets[] = [
    {
      classes: [0],
      masks: new ConstantMaskTargets([[0, 1, 0]]),
      prompts: {
        kind: 'point',
        latents: torch
          .tensor([
            [
              [0, 0],
              [1, 2],
            ],
          ])
          .requiresGrad_(requiresGrad),
      },
    },
  ];
  return { pred, targets, matches: [{ queries: [0], targets: [0], levels: [1] }] };
}

test('Eq. 15 by hand: weighted class CE, mask CE and dice against the chosen level, prompt KL', () => {
  const { pred, targets, matches } = tiny();
  const P = 4;
  const cfg = wishLossConfig({ numPoints: P });
  const t = setLoss(pred, targets, matches, cfg, 1, new torch.Generator(0));
  // CE: q0 class 0 weight 1: -ln 0.75 ; q1 no-object weight 0.1: -ln 0.5 ; weighted mean / 1.1.
  approx(t.ce.item(), (-Math.log(0.75) + 0.1 * Math.log(2)) / 1.1, 1e-6, 'ce');
  // Level 1 is all-ones, the prediction is 0.5 everywhere: CE ln 2, dice 1 - (2 * P/2 + 1) / (P/2 + P + 1).
  approx(t.mask.item(), Math.log(2), 1e-6, 'mask');
  approx(t.dice.item(), 1 - (P + 1) / (1.5 * P + 1), 1e-6, 'dice');
  // Prompt: token 0 [0, ln 3] vs [0, 0] -> 1/2 ln(4/3); token 1 equal -> 0.
  approx(t.prompt.item(), 0.5 * Math.log(4 / 3), 1e-6, 'prompt');
  // numMasks divides the mask terms (Mask2Former's num_masks).
  const t2 = setLoss(pred, targets, matches, cfg, 2, new torch.Generator(0));
  approx(t2.mask.item(), Math.log(2) / 2, 1e-6, 'mask / 2');
  // Against level 0 (all zeros) the dice is 1 - 1 / (P/2 + 1).
  const t0 = setLoss(pred, targets, [{ queries: [0], targets: [0], levels: [0] }], cfg, 1);
  approx(t0.dice.item(), 1 - 1 / (P / 2 + 1), 1e-6, 'dice vs level 0');
});

test('gradients reach the predictions, never the targets', () => {
  const { pred, targets } = tiny();
  const cams = torch.zeros([1, 1, 2, 2]).requiresGrad_();
  const out = wishLoss(
    { ...pred, camMaps: cams, camLogits: cams.mean([2, 3]) },
    targets,
    wishLossConfig({ numPoints: 4, matcher: { numPoints: 4 } }),
    { iteration: 0, generator: new torch.Generator(1) },
  );
  out.total.backward();
  assert.ok(gradOf(pred.predLogits), 'class logits get a gradient');
  assert.ok(gradOf(pred.predMasks)!.abs().sum().item() > 0, 'masks get a gradient');
  assert.ok(gradOf(pred.predPrompts.point)!.abs().sum().item() > 0, 'the point-kind prompt gets a gradient');
  assert.ok(gradOf(cams)!.abs().sum().item() > 0, 'CAMs get a gradient');
  assert.equal(gradOf(targets[0].prompts!.latents), null, 'target latents are constants');
  for (const v of Object.values(out.terms)) assert.equal(v.requiresGrad, false, 'logged terms are detached');
});

test('Eq. 17 by hand: multi-label BCE of the GAP logits against the image classes', () => {
  // logits [0, ln 3]; image class {0}: BCE(0, 1) = ln 2, BCE(ln 3, 0) = softplus(ln 3) = ln 4.
  const targets: ImageTargets[] = [{ classes: [0], masks: new ConstantMaskTargets([[1]]) }];
  approx(camLoss(torch.tensor([[0, Math.log(3)]]), targets).item(), (Math.log(2) + Math.log(4)) / 2, 1e-6);
  // Tag images name their classes through imageClasses even with no instance targets.
  const tags: ImageTargets[] = [{ classes: [], masks: new ConstantMaskTargets([]), imageClasses: [1] }];
  approx(camLoss(torch.tensor([[0, Math.log(3)]]), tags).item(), (Math.log(2) + Math.log(4 / 3)) / 2, 1e-6);
});

test('Eq. 19 by hand: merged masks of confident queries per class, absent classes zero, target constant', () => {
  // C = 2. q0: class 0 (0.8), mask top row; q1: class 0 (0.6), mask bottom-left; q2: no-object (0.9),
  // mask everything; q3: class 1 (0.9) but class 1 is absent from the labels; q4: class 0 at 0.45 (< 0.5).
  const predLogits = logitsOf([
    [0.8, 0.1, 0.1],
    [0.6, 0.3, 0.1],
    [0.05, 0.05, 0.9],
    [0.05, 0.9, 0.05],
    [0.45, 0.2, 0.35],
  ])
    .unsqueeze(0)
    .requiresGrad_();
  const on = 5;
  const off = -5;
  const predMasks = torch
    .tensor([
      [
        [on, on],
        [off, off],
      ],
      [
        [off, off],
        [on, off],
      ],
      [
        [on, on],
        [on, on],
      ],
      [
        [on, on],
        [on, on],
      ],
      [
        [off, off],
        [off, on],
      ],
    ])
    .unsqueeze(0)
    .requiresGrad_();
  const targets: ImageTargets[] = [{ classes: [0], masks: new ConstantMaskTargets([[1]]) }];
  const merged = mergedClassMasks(predLogits, predMasks, targets, 0.5, 0.5);
  assert.deepEqual(merged.toArray(), [
    [
      [
        [1, 1],
        [1, 0],
      ],
      [
        [0, 0],
        [0, 0],
      ],
    ],
  ]);
  assert.equal(merged.requiresGrad, false);
  // CAM logits at mask size (the resize is then the identity).
  const camVals = [
    [
      [2, -1],
      [0.5, 3],
    ],
    [
      [-2, 1],
      [0, -0.5],
    ],
  ];
  const cams = torch.tensor([camVals]).requiresGrad_();
  const loss = selfEnhancementLoss(cams, predLogits, predMasks, targets, {
    selfScoreThreshold: 0.5,
    selfMaskThreshold: 0.5,
    selfCamNorm: 'logits',
  });
  const m = merged.flatten().toArray() as number[];
  const expected = camVals.flat(2).reduce((s, x, i) => s + bce(x, m[i]), 0) / 8;
  approx(loss.item(), expected, 1e-6, 'L_self');
  loss.backward();
  assert.ok(gradOf(cams)!.abs().sum().item() > 0);
  assert.equal(gradOf(predMasks), null, 'the merged mask is a constant: no gradient to the masks');
  assert.equal(gradOf(predLogits), null, 'nor to the class logits');
});

test('Eq. 19 on max-normalised CAMs, and a labelled class nobody predicts yet is left out', () => {
  // One image labelled with classes 0 and 1; two queries, both confidently class 0, so class 1's merged
  // mask is empty. Masks and CAMs are 1 x 2 (the resize is the identity).
  const on = 9;
  const off = -9;
  const predLogits = torch.tensor([
    [
      [5, 0, 0],
      [5, 0, 0],
    ],
  ]);
  const predMasks = torch.tensor([[[[on, off]], [[off, off]]]]);
  const targets: ImageTargets[] = [
    { classes: [0, 1], masks: new ConstantMaskTargets([[1], [1]]), imageClasses: [0, 1] },
  ];
  const cams = torch.tensor([[[[2, 1]], [[3, -1]]]]).requiresGrad_();
  const cfg = { selfScoreThreshold: 0.5, selfMaskThreshold: 0.5 };
  const bceP = (p: number, y: number): number => -(y * Math.log(p) + (1 - y) * Math.log(1 - p));
  const clampP = (p: number): number => Math.min(1 - 1e-4, Math.max(1e-4, p));
  // class 0: relu / max = [2, 1] / 2 = [1, 0.5] against the merged mask [1, 0]
  const class0 = (bceP(clampP(2 / (2 + 1e-6)), 1) + bceP(0.5 / (1 + 5e-7), 0)) / 2;
  // class 1: [3, 0] / 3 against [0, 0]
  const class1 = (bceP(clampP(3 / (3 + 1e-6)), 0) + bceP(1e-4, 0)) / 2;
  const skipped = selfEnhancementLoss(cams, predLogits, predMasks, targets, cfg);
  approx(skipped.item(), class0, 1e-5, 'class 1 left out');
  const kept = selfEnhancementLoss(cams, predLogits, predMasks, targets, { ...cfg, selfSkipEmpty: false });
  approx(kept.item(), (class0 + class1) / 2, 1e-4, 'both maps (float32 rounding of 1 - 1e-4)');
  skipped.backward();
  const g = cams.grad!.toArray() as number[][][][];
  assert.ok(
    g[0][0][0].some((v) => v !== 0),
    'class 0 learns',
  );
  assert.deepEqual(g[0][1][0], [0, 0], 'class 1 gets nothing');
});

test('Eq. 20 and the warm-up: only L_cam before warmupIterations, every term after', () => {
  assert.deepEqual(lossPhase(9, { warmupIterations: 10 }), { seg: false, cam: true, self: false });
  assert.deepEqual(lossPhase(10, { warmupIterations: 10 }), { seg: true, cam: true, self: true });
  const { pred, targets } = tiny(false);
  const cams = torch.zeros([1, 1, 2, 2]);
  const cfg = wishLossConfig({ numPoints: 4, matcher: { numPoints: 4 }, warmupIterations: 10 });
  const input = { ...pred, aux: [pred], camMaps: cams, camLogits: torch.tensor([[0]]) };
  const warm = wishLoss(input, targets, cfg, { iteration: 3 });
  assert.deepEqual(Object.keys(warm.terms), ['loss_cam']);
  approx(warm.total.item(), Math.log(2), 1e-6, 'L_cam alone');
  assert.deepEqual(warm.matches, []);
  const after = wishLoss(input, targets, cfg, { iteration: 10, generator: new torch.Generator(2) });
  assert.deepEqual(Object.keys(after.terms).sort(), [
    'loss_cam',
    'loss_ce',
    'loss_ce_0',
    'loss_dice',
    'loss_dice_0',
    'loss_mask',
    'loss_mask_0',
    'loss_prompt',
    'loss_prompt_0',
    'loss_self',
  ]);
  const sum = Object.values(after.terms).reduce((s, t) => s + t.item(), 0);
  approx(after.total.item(), sum, 1e-5, 'total is the sum of the weighted terms');
  // The q0 -> target 0 match is the obvious one; the loss_ce term carries the class weight 2.
  assert.deepEqual(after.matches, [{ queries: [0], targets: [0], levels: [1] }]);
  approx(after.terms.loss_ce.item(), (2 * (-Math.log(0.75) + 0.1 * Math.log(2))) / 1.1, 1e-5);
  // Ablations: no deep supervision, no L_self.
  const lean = wishLoss(
    input,
    targets,
    wishLossConfig({ numPoints: 4, matcher: { numPoints: 4 }, deepSupervision: false, selfWeight: 0 }),
    {
      iteration: 0,
    },
  );
  assert.deepEqual(Object.keys(lean.terms).sort(), [
    'loss_cam',
    'loss_ce',
    'loss_dice',
    'loss_mask',
    'loss_prompt',
  ]);
});

test('a batch without any instance: class loss only (all no-object), zero mask terms that still backpropagate', () => {
  const pred: LayerPrediction = {
    predLogits: torch.zeros([2, 3, 3]).requiresGrad_(),
    predMasks: torch.zeros([2, 3, 4, 4]).requiresGrad_(),
    predPrompts: {
      point: torch.zeros([2, 3, 2, 4]).requiresGrad_(),
      box: torch.zeros([2, 3, 2, 4]).requiresGrad_(),
    },
  };
  const empty = (): ImageTargets => classesOnly([1]);
  const cams = torch.zeros([2, 2, 2, 2]).requiresGrad_();
  const out = wishLoss(
    { ...pred, camMaps: cams, camLogits: cams.mean([2, 3]) },
    [empty(), empty()],
    wishLossConfig(),
    {
      iteration: 0,
    },
  );
  approx(out.terms.loss_ce.item(), 2 * Math.log(3), 1e-6, 'uniform logits, every query no-object');
  assert.equal(out.terms.loss_mask.item(), 0);
  assert.equal(out.terms.loss_prompt.item(), 0);
  out.total.backward();
  assert.ok(gradOf(pred.predMasks), 'masks still take part in the graph');
});
