// Mask2Former's point sampling: bilinear reads at normalised (x, y) points, and importance sampling that
// concentrates points where the mask logits are uncertain.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { pointSample, uncertainPointCoordsWithRandomness } from '../../src/method/index.ts';

test('pointSample: pixel centres read pixel values, midpoints average, coordinates are (x, y)', () => {
  const maps = torch.tensor([
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
  ]); // [1, 2, 3]
  const coords = torch.tensor([
    [
      [0.5 / 3, 0.25],
      [2.5 / 3, 0.75],
      [1 / 3, 0.25],
      [0.5 / 3, 0.5],
    ],
  ]);
  const got = pointSample(maps, coords).toFloat32Array();
  [1, 6, 1.5, 2.5].forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-6, `point ${i}: ${got[i]} vs ${v}`));
  assert.deepEqual(pointSample(maps.unsqueeze(1), coords).shape, [1, 1, 4]);
  assert.throws(() => pointSample(maps, torch.zeros([2, 4, 2])), /coords must be \[N, P, 2\] with N = 1/);
});

test('importance sampling: the importance share of points lands where |logit| is small, the rest is uniform', () => {
  // Left half certain (|logit| 8), right half uncertain (|logit| 0.1): a 16-wide map, boundary at x = 0.5.
  const row = Array.from({ length: 16 }, (_, j) => (j < 8 ? 8 : 0.1));
  const logits = torch.tensor([Array.from({ length: 16 }, () => row)]); // [1, 16, 16]
  const g = new torch.Generator(3);
  const P = 200;
  const coords = uncertainPointCoordsWithRandomness(logits, P, 3, 0.75, g);
  assert.deepEqual(coords.shape, [1, P, 2]);
  const xs = coords.select(2, 0).flatten().toArray() as number[];
  // The 150 importance points: 600 candidates hold ~300 in the right half, so all 150 come from there
  // (points within half a pixel of the boundary read a blend, still less certain than the left).
  const important = xs.slice(0, 150);
  assert.ok(
    important.every((x) => x > 0.5 - 0.5 / 16),
    'importance points sit in the uncertain half',
  );
  const rest = xs.slice(150);
  assert.ok(
    rest.some((x) => x < 0.4),
    'the random share covers the certain half too',
  );
  assert.ok(coords.ge(0).all().item() && coords.le(1).all().item());
  // importance 0: all uniform; importance 1: all chosen.
  assert.deepEqual(uncertainPointCoordsWithRandomness(logits, 10, 3, 0, g).shape, [1, 10, 2]);
  const all = uncertainPointCoordsWithRandomness(logits, 50, 3, 1, g)
    .select(2, 0)
    .flatten()
    .toArray() as number[];
  assert.ok(all.every((x) => x > 0.5 - 0.5 / 16));
});
