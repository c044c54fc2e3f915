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
const pred = (): LayerPrediction => ({
  predLogits: torch.randn([3, 5, 4], { generator: g }),
  predMasks: torch.randn([3, 5, 6, 6], { generator: g }).mul(3).requiresGrad_(),
  predPrompts: {
    point: torch.randn([3, 5, 2, 6], { generator: g }),
    box: torch.randn([3, 5, 2, 6], { generator: g }),
  },
});

for (const threshold of [null, 0]) {
  test(`matcher costs and set loss: batched read equals per-image reads (threshold ${threshold})`, () => {
    const targets = targetsWith(threshold);
    const batched = prepareTargets(targets);
    assert.ok(batched.masks, 'same-size FrameMaskTargets are batched');
    const perImage = { ...batched, masks: null };
    const p = pred();
    const coords = torch.rand([3, 40, 2], { generator: g });
    const cfg = matcherConfig({ numPoints: 40 });
    const a = layerCosts(p, targets, coords, cfg, batched);
    const b = layerCosts(p, targets, coords, cfg, perImage);
    a.forEach((c, i) => {
      assert.equal(c.targets, counts[i]);
      c.maskCostPerLevel.forEach((v, j) => assert.ok(Math.abs(v - b[i].maskCostPerLevel[j]) < 1e-5));
      assert.deepEqual(Array.from(c.level), Array.from(b[i].level));
    });
    const matches: ImageMatch[] = [
      { queries: [1, 3], targets: [1, 0], levels: [2, 0] },
      { queries: [], targets: [], levels: [] },
      { queries: [0, 2, 4], targets: [2, 0, 1], levels: [1, 1, 0] },
    ];
    const lossCfg = wishLossConfig({ numPoints: 30 });
    const la = setLossLayers([p], targets, [matches], lossCfg, 5, new torch.Generator(4), batched)[0];
    const lb = setLossLayers([p], targets, [matches], lossCfg, 5, new torch.Generator(4), perImage)[0];
    for (const k of ['ce', 'mask', 'dice', 'prompt'] as const) {
      assert.ok(Math.abs(la[k].item() - lb[k].item()) < 1e-6, `${k}: ${la[k].item()} vs ${lb[k].item()}`);
    }
  });
}

test('the batched reader is used only when every image can share it', () => {
  const t = targetsWith(null);
  assert.ok(BatchedFrameTargets.tryBuild(t));
  const otherSize = [...t];
  otherSize[2] = { ...t[2], masks: new FrameMaskTargets(torch.zeros([3, 3, 10, 8]), identityMap(8, 10)) };
  assert.equal(BatchedFrameTargets.tryBuild(otherSize), null);
  const dense = [...t];
  dense[0] = { ...t[0], masks: new DenseMaskTargets(torch.zeros([2, 12, 12])) };
  assert.equal(BatchedFrameTargets.tryBuild(dense), null);
  const thresholds = [...t];
  thresholds[0] = { ...t[0], masks: new FrameMaskTargets(torch.zeros([2, 3, 20, 16]), frames[0], 0) };
  assert.equal(BatchedFrameTargets.tryBuild(thresholds), null);
});
