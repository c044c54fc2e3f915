// The batched read of every image's FrameMaskTargets gives the per-image values, in the matcher's costs
// and in the set loss; it is used only when the images' targets can share one read.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { composeMaps, cropMap, flipMap, identityMap, resizeMap } from '../../src/data/augment/frame-map.ts';
import {
  BatchedFrameTargets,
  DenseMaskTargets,
  FrameMaskTargets,
  layerCosts,
  matcherConfig,
  prepareTargets,
  setLossLayers,
  wishLossConfig,
  type ImageMatch,
  type ImageTargets,
  type LayerPrediction,
} from '../../src/method/index.ts';

const g = new torch.Generator(21);
// Three 16 x 20 originals through different augmentations into a 12 x 12 frame; T = 2, 0, 3.
const frames = [
  composeMaps(flipMap(16, 20), cropMap(16, 20, 2, 4, 12, 12)),
  identityMap(16, 20),
  composeMaps(resizeMap(16, 20, 8, 10), cropMap(8, 10, -2, -1, 12, 12)),
];
const counts = [2, 0, 3];
function targetsWith(threshold: number | null): ImageTargets[] {
  return counts.map((T, b) => ({
    classes: Array.from({ length: T }, (_, i) => (b + i) % 3),
    masks:
      b === 1
        ? new FrameMaskTargets(torch.zeros([0, 3, 20, 16]), frames[1], threshold)
        : new FrameMaskTargets(
            threshold === null
              ? torch.rand([T, 3, 20, 16], { generator: g }).gt(0.5).float()
              : torch.randn([T, 3, 20, 16], { generator: g }),
            frames[b],
            threshold,
          ),
    prompts: { kind: b === 0 ? 'box' : 'point', latents: torch.randn([T, 2, 6], { generator: g }) },
  }));
}
/** The same three images plus two the batched reader cannot take: other-size originals and full masks. */
function mixedTargets(threshold: number | null): ImageTargets[] {
  const t = targetsWith(threshold);
  const small = composeMaps(resizeMap(8, 10, 12, 12), cropMap(12, 12, 0, 0, 12, 12));
  t.push({
    classes: [1, 2],
    masks: new FrameMaskTargets(
      torch.rand([2, 3, 10, 8], { generator: g }).gt(0.5).float(),
      small,
      threshold,
    ),
  });
  t.push({ classes: [0], masks: new DenseMaskTargets(torch.rand([1, 12, 12], { generator: g }).gt(0.5)) });
  return t;
}
const pred = (B = 3): LayerPrediction => ({
  predLogits: torch.randn([B, 5, 4], { generator: g }),
  predMasks: torch.randn([B, 5, 6, 6], { generator: g }).mul(3).requiresGrad_(),
  predPrompts: {
    point: torch.randn([B, 5, 2, 6], { generator: g }),
    box: torch.randn([B, 5, 2, 6], { generator: g }),
  },
});

for (const [threshold, mixed] of [
  [null, false],
  [0, false],
  [null, true],
  [0, true],
] as const) {
  test(`matcher costs and set loss: batched read equals per-image reads (threshold ${threshold}${mixed ? ', mixed batch' : ''})`, () => {
    const targets = mixed ? mixedTargets(threshold) : targetsWith(threshold);
    const B = targets.length;
    const batched = prepareTargets(targets);
    assert.ok(batched.masks, 'same-size FrameMaskTargets are batched');
    assert.deepEqual(
      targets.map((_, b) => batched.masks!.covers(b)),
      [true, false, true, false, false].slice(0, B),
    );
    const perImage = { ...batched, masks: null };
    const p = pred(B);
    const coords = torch.rand([B, 40, 2], { generator: g });
    const cfg = matcherConfig({ numPoints: 40 });
    const a = layerCosts(p, targets, coords, cfg, batched);
    const b = layerCosts(p, targets, coords, cfg, perImage);
    a.forEach((c, i) => {
      assert.equal(c.targets, targets[i].classes.length);
      c.maskCostPerLevel.forEach((v, j) => assert.ok(Math.abs(v - b[i].maskCostPerLevel[j]) < 1e-5));
      assert.deepEqual(Array.from(c.level), Array.from(b[i].level));
    });
    const matches: ImageMatch[] = [
      { queries: [1, 3], targets: [1, 0], levels: [2, 0] },
      { queries: [], targets: [], levels: [] },
      { queries: [0, 2, 4], targets: [2, 0, 1], levels: [1, 1, 0] },
      { queries: [2, 3], targets: [0, 1], levels: [2, 1] },
      { queries: [4], targets: [0], levels: [0] },
    ].slice(0, B);
    const lossCfg = wishLossConfig({ numPoints: 30 });
    const la = setLossLayers(
      [p, p],
      targets,
      [matches, matches],
      lossCfg,
      5,
      new torch.Generator(4),
      batched,
    );
    const lb = setLossLayers(
      [p, p],
      targets,
      [matches, matches],
      lossCfg,
      5,
      new torch.Generator(4),
      perImage,
    );
    for (let l = 0; l < 2; l++) {
      for (const k of ['ce', 'mask', 'dice', 'prompt'] as const) {
        assert.ok(
          Math.abs(la[l][k].item() - lb[l][k].item()) < 1e-6,
          `${k}: ${la[l][k].item()} vs ${lb[l][k].item()}`,
        );
      }
    }
  });
}

test('the batched reader takes the largest compatible group, or nothing', () => {
  const t = targetsWith(null);
  assert.ok(BatchedFrameTargets.tryBuild(t));
  const dense = t.map((x) => ({
    ...x,
    masks: new DenseMaskTargets(torch.zeros([x.classes.length, 12, 12])),
  }));
  assert.equal(BatchedFrameTargets.tryBuild(dense), null);
  const thresholds = [...t];
  thresholds[2] = { ...t[2], masks: new FrameMaskTargets(torch.zeros([3, 3, 20, 16]), frames[2], 0) };
  const r = BatchedFrameTargets.tryBuild(thresholds)!;
  assert.deepEqual([r.covers(0), r.covers(1), r.covers(2)], [false, false, true], 'three rows beat two');
});

test('readPairs: each pair reads its own row, level and points, exactly as the image reads it alone', () => {
  for (const threshold of [null, 0] as const) {
    const t = targetsWith(threshold);
    const r = BatchedFrameTargets.tryBuild(t)!;
    // Rows 0-1 are image 0's targets, 2-4 image 2's. Row 3 has no pair, row 1 three (uneven slots).
    const pairs: [number, number, number][] = [
      [0, 0, 2],
      [0, 1, 0],
      [2, 2, 1],
      [0, 1, 2],
      [2, 0, 0],
      [0, 1, 1],
    ]; // [image, target, level]
    const coords = torch.rand([pairs.length, 25, 2], { generator: g }).mul(1.4).sub(0.2); // some outside
    const got = r.readPairs(
      pairs.map(([b, j]) => r.rowStart[b] + j),
      pairs.map(([, , k]) => k),
      coords,
    );
    assert.deepEqual(got.shape, [pairs.length, 25]);
    pairs.forEach(([b, j, k], m) => {
      const alone = t[b].masks.samplePairs([j], [k], coords.narrow(0, m, 1));
      assert.deepEqual(got.narrow(0, m, 1).toArray(), alone.toArray(), `pair ${m}`);
    });
  }
});
