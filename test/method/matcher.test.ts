// The WISH matcher (Eq. 11-14) on cases small enough to check by hand, the assignment against brute
// force, the min over SAM levels (Eq. 13) and the ablation switches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import { identityMap } from '../../src/data/augment/frame-map.ts';
import {
  DenseMaskTargets,
  FrameMaskTargets,
  SamMaskTargets,
  imageCosts,
  assign,
  linearSumAssignment,
  layerCosts,
  layersCosts,
  matchLayer,
  matchLayers,
  matcherConfig,
  pairwiseDice,
  pairwisePromptKl,
  pairwiseSigmoidCe,
  promptKl,
  sampleSamLogits,
  wishLoss,
  wishLossConfig,
  type ImageTargets,
  type LayerPrediction,
} from '../../src/method/index.ts';
import { ConstantMaskTargets, logitsOf } from './fakes.ts';

const approx = (a: number, b: number, tol = 1e-5, what = ''): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what} got ${a}, expected ${b}`);

const flatMasks = (q: number, logit = 0): Tensor => torch.full([q, 4, 4], logit);
// Points away from the border, where bilinear sampling of a constant map reads the constant (no zero padding).
const shared = (p = 16): Tensor =>
  torch
    .rand([1, p, 2], { generator: new torch.Generator(3) })
    .mul(0.6)
    .add(0.2);

test('class cost only: the pairing that maximises the summed target-class probabilities wins', () => {
  // softmax rows (C = 2, no-object last). Targets: class 1, class 0.
  // cost = -2 p: t0 (class 1): q0 -0.4, q1 -1.6, q2 -0.6 ; t1 (class 0): q0 -1.4, q1 -0.2, q2 -0.6
  // best: q1 -> t0, q0 -> t1, total -3.0 (next best q1->t0, q2->t1: -2.2).
  const logits = logitsOf([
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1],
    [0.3, 0.3, 0.4],
  ]);
  const t: ImageTargets = { classes: [1, 0], masks: new ConstantMaskTargets([[1], [1]]) };
  const cfg = matcherConfig({ maskWeight: 0, promptWeight: 0 });
  const costs = imageCosts(logits, flatMasks(3), null, t, shared(), cfg);
  const expected = [-0.4, -1.4, -1.6, -0.2, -0.6, -0.6];
  expected.forEach((v, i) => approx(costs.total[i], v, 1e-6, `total[${i}]`));
  assert.deepEqual(assign(costs), { queries: [0, 1], targets: [1, 0], levels: [0, 0] });
});

test('prompt KL: zero for identical latents, 0.5 ln(4/3) for the hand case, and it decides a class tie', () => {
  const z = torch.randn([3, 2, 5], { generator: new torch.Generator(1) });
  const self = pairwisePromptKl(z, z).toArray() as number[][];
  for (let i = 0; i < 3; i++) approx(self[i][i], 0, 1e-6, 'KL(z || z)');
  // token 0: target softmax [1/2, 1/2], prediction [1/4, 3/4]; token 1 identical.
  // KL = 1/2 ln(2) + 1/2 ln(2/3) = 1/2 ln(4/3) = 0.1438410
  const pred = torch.tensor([
    [
      [0, Math.log(3)],
      [1, 2],
    ],
  ]);
  const tgt = torch.tensor([
    [
      [0, 0],
      [1, 2],
    ],
  ]);
  approx(promptKl(pred, tgt).item(), 0.5 * Math.log(4 / 3), 1e-6, 'hand KL');
  approx(pairwisePromptKl(pred, tgt).item(), 0.5 * Math.log(4 / 3), 1e-6, 'hand KL (pairwise)');

  // Two queries with the same class probabilities: the prompt cost alone decides the pairs.
  const latents = torch.tensor([
    [
      [0, 0],
      [0, 0],
    ],
    [
      [3, -3],
      [3, -3],
    ],
  ]);
  const predZ = torch.stack([latents.select(0, 1), latents.select(0, 0)]); // q0 ~ t1, q1 ~ t0
  const t: ImageTargets = {
    classes: [0, 0],
    masks: new ConstantMaskTargets([[1], [1]]),
    prompts: { kind: 'point', latents },
  };
  const costs = imageCosts(
    logitsOf([
      [0.5, 0.5],
      [0.5, 0.5],
    ]),
    flatMasks(2),
    predZ,
    t,
    shared(),
    matcherConfig({ maskWeight: 0 }),
  );
  approx(costs.promptCost[0], pairwisePromptKl(predZ, latents).toFloat32Array()[0], 1e-6, 'prompt cost');
  assert.deepEqual(assign(costs).targets, [1, 0]);
  // Ablation: without the prompt cost the tie stays a tie (cost matrix all equal).
  const flat = imageCosts(
    logitsOf([
      [0.5, 0.5],
      [0.5, 0.5],
    ]),
    flatMasks(2),
    predZ,
    t,
    shared(),
    matcherConfig({ maskWeight: 0, promptWeight: 0 }),
  );
  assert.ok(flat.total.every((v) => Math.abs(v - flat.total[0]) < 1e-7));
  assert.ok(flat.promptCost.every((v) => v === 0));
});

test('mask cost: the min over SAM levels picks the level closest to each prediction (Eq. 13)', () => {
  // q0 is ~all foreground, q1 ~all background; target 0's levels are all-0, all-1, all-0.5.
  const masks = torch.stack([torch.full([4, 4], 10), torch.full([4, 4], -10)]);
  const t: ImageTargets = { classes: [0], masks: new ConstantMaskTargets([[0, 1, 0.5]]) };
  const P = 8;
  const costs = imageCosts(
    logitsOf([
      [0.5, 0.5],
      [0.5, 0.5],
    ]),
    masks,
    null,
    t,
    shared(P),
    matcherConfig({ promptWeight: 0 }),
  );
  // Hand values for q0 (s = sigmoid(10)) against all-ones: CE = softplus(-10), dice = 1 - (2Ps + 1) / (Ps + P + 1).
  const s = 1 / (1 + Math.exp(-10));
  const ce1 = Math.log1p(Math.exp(-10));
  const dice1 = 1 - (2 * P * s + 1) / (P * s + P + 1);
  approx(costs.maskCostPerLevel[1], ce1 + dice1, 1e-5, 'q0 vs level 1');
  // against all-zeros: CE = softplus(10), dice = 1 - 1 / (Ps + 1)
  approx(costs.maskCostPerLevel[0], Math.log1p(Math.exp(10)) + 1 - 1 / (P * s + 1), 1e-4, 'q0 vs level 0');
  assert.deepEqual(Array.from(costs.level), [1, 0]);
  approx(costs.maskCost[0], costs.maskCostPerLevel[1], 1e-7);
  approx(costs.maskCost[1], costs.maskCostPerLevel[3], 1e-7);
  // Ablation: a fixed level is used whatever the prediction.
  const fixed = imageCosts(
    logitsOf([
      [0.5, 0.5],
      [0.5, 0.5],
    ]),
    masks,
    null,
    t,
    shared(P),
    matcherConfig({ promptWeight: 0, samLevel: 2 }),
  );
  assert.deepEqual(Array.from(fixed.level), [2, 2]);
  approx(fixed.maskCost[0], costs.maskCostPerLevel[2], 1e-6);
  approx(fixed.total[0], 2 * -0.5 + 5 * costs.maskCostPerLevel[2], 1e-4, 'total with gamma = 5');
});

test('with SAM targets the chosen level is the argmin of separately computed per-level costs', () => {
  const g = new torch.Generator(5);
  const geo = {
    imgSize: 32,
    inputSize: [24, 32] as [number, number],
    originalSize: [18, 24] as [number, number],
  };
  const frame = identityMap(24, 18);
  const lowRes = torch.randn([3, 3, 8, 8], { generator: g }).mul(3);
  const t: ImageTargets = { classes: [0, 1, 1], masks: new SamMaskTargets(lowRes, geo, frame) };
  const Q = 5;
  const predMasks = torch.randn([Q, 6, 6], { generator: g }).mul(4);
  const coords = torch.rand([1, 64, 2], { generator: g });
  const cfg = matcherConfig({ promptWeight: 0, classWeight: 0 });
  const costs = imageCosts(torch.zeros([Q, 3]), predMasks, null, t, coords, cfg);
  const predPts = torch
    .gridSample(predMasks.unsqueeze(0), coords.mul(2).sub(1).unsqueeze(2))
    .squeeze(3)
    .squeeze(0);
  const tgt = sampleSamLogits(lowRes, geo, frame, coords).gt(0).float(); // [3, 3, P]
  for (let l = 0; l < 3; l++) {
    const lv = tgt.select(1, l);
    const d = pairwiseSigmoidCe(predPts, lv).add(pairwiseDice(predPts, lv)).toFloat32Array(); // [Q, T]
    for (let q = 0; q < Q; q++) {
      for (let j = 0; j < 3; j++)
        approx(costs.maskCostPerLevel[(q * 3 + j) * 3 + l], d[q * 3 + j], 1e-5, `level ${l}`);
    }
  }
  for (let i = 0; i < Q * 3; i++) {
    const per = Array.from(costs.maskCostPerLevel.slice(i * 3, i * 3 + 3));
    assert.equal(costs.level[i], per.indexOf(Math.min(...per)));
    approx(costs.maskCost[i], Math.min(...per), 1e-7);
  }
  const m = assign(costs);
  m.queries.forEach((q, i) => assert.equal(m.levels[i], costs.level[q * 3 + m.targets[i]]));
});

/** The minimum total over every injective pairing of the smaller side into the larger. */
function bruteForce(c: number[][]): number {
  const Q = c.length;
  const T = c[0].length;
  let best = Infinity;
  const rows = Q >= T;
  const n = rows ? T : Q; // items to place
  const m = rows ? Q : T; // slots
  const used = new Array<boolean>(m).fill(false);
  const walk = (i: number, acc: number): void => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let s = 0; s < m; s++) {
      if (used[s]) continue;
      used[s] = true;
      walk(i + 1, acc + (rows ? c[s][i] : c[i][s]));
      used[s] = false;
    }
  };
  walk(0, 0);
  return best;
}

test('the assignment is optimal: equal to brute force on random rectangular matrices', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 36, maxLength: 36 }),
      (Q, T, vals) => {
        const c = Array.from({ length: Q }, (_, i) => vals.slice(i * T, i * T + T));
        const a = linearSumAssignment(c.flat(), Q, T);
        assert.equal(a.rows.length, Math.min(Q, T));
        assert.equal(new Set(a.rows).size, a.rows.length);
        assert.equal(new Set(a.cols).size, a.cols.length);
        assert.deepEqual(
          a.rows,
          [...a.rows].sort((x, y) => x - y),
        );
        const total = a.rows.reduce((s, r, i) => s + c[r][a.cols[i]], 0);
        assert.ok(Math.abs(total - bruteForce(c)) < 1e-9, `${total} vs ${bruteForce(c)}`);
      },
    ),
    { numRuns: 300, seed: 42 },
  );
});

test('bad costs and bad targets give clear errors', () => {
  assert.throws(
    () => linearSumAssignment([0, NaN], 1, 2, 'image 3 cost'),
    /image 3 cost: entry \[0, 1\] is NaN/,
  );
  assert.throws(() => linearSumAssignment([0, 1, 2], 2, 2), /3 values for a 2x2 matrix/);
  const t: ImageTargets = { classes: [5], masks: new ConstantMaskTargets([[1]]) };
  assert.throws(
    () => imageCosts(torch.zeros([2, 3]), flatMasks(2), null, t, shared(), matcherConfig()),
    /class 5 outside \[0, 2\)/,
  );
  const t3: ImageTargets = { classes: [0], masks: new ConstantMaskTargets([[1, 0]]) };
  assert.throws(
    () => imageCosts(torch.zeros([2, 3]), flatMasks(2), null, t3, shared(), matcherConfig({ samLevel: 2 })),
    /samLevel 2 but the targets have 2/,
  );
});

test('matchLayer: per image, images without targets match nothing, more targets than queries leave some unmatched', () => {
  const B = 3;
  const Q = 2;
  const pred = {
    predLogits: torch.zeros([B, Q, 3]),
    predMasks: torch.zeros([B, Q, 4, 4]),
    predPrompts: { point: torch.zeros([B, Q, 2, 4]), box: torch.zeros([B, Q, 2, 4]) },
  };
  const targets: ImageTargets[] = [
    { classes: [1], masks: new ConstantMaskTargets([[1, 0, 0]]) },
    { classes: [], masks: new ConstantMaskTargets([]) },
    { classes: [0, 1, 0], masks: new ConstantMaskTargets([[1], [0], [1]]) },
  ];
  const m = matchLayer(pred, targets, matcherConfig({ numPoints: 10 }), new torch.Generator(0));
  assert.equal(m.length, 3);
  assert.equal(m[0].queries.length, 1);
  assert.deepEqual(m[1], { queries: [], targets: [], levels: [] });
  assert.equal(m[2].queries.length, 2);
  assert.throws(
    () => matchLayer(pred, targets.slice(0, 2), matcherConfig()),
    /3 images in the batch but 2 target sets/,
  );
});

test("one target read per iteration for every layer; sharePointsAcrossLayers reads one layer's points instead of all", () => {
  class Counting extends ConstantMaskTargets {
    reads = 0;
    points = 0;
    override sampleAll(coords: Tensor): Tensor {
      this.reads++;
      this.points += coords.shape[1];
      return super.sampleAll(coords);
    }
  }
  const layer = (): LayerPrediction => ({
    predLogits: torch.randn([1, 3, 3], { generator: new torch.Generator(8) }),
    predMasks: torch.randn([1, 3, 4, 4], { generator: new torch.Generator(9) }),
    predPrompts: { point: torch.zeros([1, 3, 2, 2]), box: torch.zeros([1, 3, 2, 2]) },
  });
  for (const share of [false, true]) {
    const masks = new Counting([[1, 0, 0.5]]);
    const out = wishLoss(
      {
        ...layer(),
        aux: [layer(), layer()],
        camMaps: torch.zeros([1, 2, 2, 2]),
        camLogits: torch.zeros([1, 2]),
      },
      [{ classes: [1], masks }],
      wishLossConfig({ numPoints: 8, matcher: { numPoints: 8, sharePointsAcrossLayers: share } }),
      { iteration: 0, generator: new torch.Generator(1) },
    );
    assert.equal(masks.reads, 1);
    assert.equal(masks.points, share ? 8 : 3 * 8);
    assert.equal(out.matches[0].queries.length, 1);
  }
});

test('all layers matched at once: the same costs and matches as layer by layer (fresh or shared points)', () => {
  const g = new torch.Generator(31);
  const B = 3;
  const Q = 5;
  const layer = (): LayerPrediction => ({
    predLogits: torch.randn([B, Q, 4], { generator: g }),
    predMasks: torch.randn([B, Q, 6, 6], { generator: g }).mul(3),
    predPrompts: {
      point: torch.randn([B, Q, 2, 4], { generator: g }),
      box: torch.randn([B, Q, 2, 4], { generator: g }),
    },
  });
  const layers = [layer(), layer(), layer()];
  const targets: ImageTargets[] = [
    {
      classes: [0, 2],
      masks: new FrameMaskTargets(
        torch.rand([2, 3, 10, 8], { generator: g }).gt(0.5).float(),
        identityMap(8, 10),
      ),
      prompts: { kind: 'box', latents: torch.randn([2, 2, 4], { generator: g }) },
    },
    { classes: [], masks: new DenseMaskTargets(torch.zeros([0, 6, 6])) },
    {
      classes: [1, 1, 0],
      masks: new SamMaskTargets(
        torch.randn([3, 3, 8, 8], { generator: g }).mul(3),
        { imgSize: 32, inputSize: [24, 32], originalSize: [18, 24] },
        identityMap(24, 18),
      ),
      prompts: { kind: 'point', latents: torch.randn([3, 2, 4], { generator: g }) },
    },
  ];
  const cfg = matcherConfig({ numPoints: 24 });
  const coords = torch.rand([3 * B, 24, 2], { generator: g });
  const together = layersCosts(layers, targets, coords, cfg);
  const shared = layersCosts(layers, targets, coords.narrow(0, 0, B), cfg);
  layers.forEach((pred, l) => {
    const alone = layerCosts(pred, targets, coords.narrow(0, l * B, B), cfg);
    const aloneShared = layerCosts(pred, targets, coords.narrow(0, 0, B), cfg);
    for (const [got, want] of [
      [together[l], alone],
      [shared[l], aloneShared],
    ]) {
      want.forEach((w, b) => {
        assert.deepEqual(Array.from(got[b].level), Array.from(w.level), `layer ${l} image ${b}: levels`);
        w.total.forEach((v, i) => approx(got[b].total[i], v, 1e-5, `layer ${l} image ${b} total[${i}]`));
      });
    }
  });
  // One uniform draw for all layers gives every layer the points of its own draw, in layer order.
  const g1 = new torch.Generator(5);
  const g2 = new torch.Generator(5);
  assert.deepEqual(
    matchLayers(layers, targets, cfg, g1),
    layers.map((pred) => matchLayer(pred, targets, cfg, g2)),
  );
  assert.equal(torch.rand([1], { generator: g1 }).item(), torch.rand([1], { generator: g2 }).item());
});
