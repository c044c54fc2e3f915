// SAM mask targets read at augmented-frame points, against the explicit path: SAM's postprocess
// (bilinear to L x L, crop, bilinear to the original size) followed by the augmentation's flip / resize /
// crop done with plain tensor ops.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import {
  composeMaps,
  cropMap,
  flipMap,
  identityMap,
  mapPoint,
  resizeMap,
} from '../../src/data/augment/frame-map.ts';
import { postprocessMasks } from '../../src/sam/postprocess.ts';
import {
  DenseMaskTargets,
  FrameMaskTargets,
  OUTSIDE_LOGIT,
  SamMaskTargets,
  samOriginalFrameLogits,
  samLogitsInFrame,
  sampleSamLogits,
} from '../../src/method/index.ts';

function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return a.sub(b).abs().max().item();
}

// A 30 x 21 original; SAM input L = 64, resized 64 x 45 (longest side 30 -> 64: 21 * 64/30 = 44.8 -> 45).
const geo = {
  imgSize: 64,
  inputSize: [64, 45] as [number, number],
  originalSize: [30, 21] as [number, number],
};
const lowRes = (): Tensor => torch.randn([2, 3, 16, 16], { generator: new torch.Generator(9) }).mul(4);

test('at the original pixel centres the values are SAM postprocessMasks output exactly', () => {
  const low = lowRes();
  const explicit = postprocessMasks(low, geo); // [2, 3, 30, 21]
  const ours = samLogitsInFrame(low, geo, identityMap(21, 30), [30, 21]);
  assert.ok(maxDiff(ours, explicit) < 1e-4);
});

test('through flip + resize + crop: equal to postprocess, resize, flip and slice done explicitly', () => {
  const low = lowRes();
  // Flip, resize 21 x 30 -> 14 x 20, crop the window x in [2, 14), y in [2, 22) (two padding rows below).
  const m = composeMaps(
    composeMaps(flipMap(21, 30), resizeMap(21, 30, 14, 20)),
    cropMap(14, 20, 2, 2, 12, 20),
  );
  const ours = samLogitsInFrame(low, geo, m, [20, 12]);
  // Explicit: SAM's crop of the L-grid resized straight to 20 x 14 (the resize to the original and the
  // augmentation's resize are one bilinear resize of the cropped map), flipped, then windowed.
  const full = torch
    .interpolate(low, { size: [64, 64], mode: 'bilinear', alignCorners: false })
    .slice(2, 0, 64)
    .slice(3, 0, 45);
  const resized = torch.interpolate(full, { size: [20, 14], mode: 'bilinear', alignCorners: false }).flip(3);
  const window = resized.slice(2, 2, 20).slice(3, 2, 14); // rows 2..19, cols 2..13
  assert.ok(maxDiff(ours.slice(2, 0, 18), window) < 1e-4);
  // The last two rows lie below the image: padding, background.
  const pad = ours.slice(2, 18, 20);
  assert.equal(pad.eq(OUTSIDE_LOGIT).all().item(), 1);
});

test('targets are SAM masks (logit > 0); pairs equal the matching rows of sampleAll; padding is background', () => {
  const low = lowRes();
  const frame = composeMaps(resizeMap(21, 30, 21, 30), cropMap(21, 30, -2, 0, 25, 30)); // 2 padding columns left
  const t = new SamMaskTargets(low, geo, frame);
  const g = new torch.Generator(4);
  const coords = torch.rand([1, 50, 2], { generator: g });
  const all = t.sampleAll(coords); // [2, 3, 50]
  assert.deepEqual(all.shape, [2, 3, 50]);
  const logits = sampleSamLogits(low, geo, frame, coords);
  assert.deepEqual(all.toArray(), logits.gt(0).float().toArray());
  // Per-pair points: each row read at its own points.
  const pairCoords = torch.rand([3, 50, 2], { generator: g });
  const pairs = t.samplePairs([1, 0, 1], [2, 0, 1], pairCoords);
  const ref = [
    [1, 2],
    [0, 0],
    [1, 1],
  ].map(([ti, l], m) =>
    t
      .sampleAll(pairCoords.narrow(0, m, 1))
      .select(0, ti)
      .select(0, l),
  );
  assert.deepEqual(pairs.toArray(), torch.stack(ref).toArray());
  // A point in the padding columns (x < 2 / 25 of the width) is background at every level.
  const inPad = t.sampleAll(torch.tensor([[[0.04, 0.5]]]));
  assert.deepEqual(inPad.flatten().toArray(), [0, 0, 0, 0, 0, 0]);
  assert.throws(
    () => t.samplePairs([2], [0], pairCoords.narrow(0, 0, 1)),
    /pair 0 \(target 2, level 0\) outside 2 targets x 3 levels/,
  );
});

test('geometry that does not fit the frame map is refused with the sizes named', () => {
  assert.throws(
    () => new SamMaskTargets(lowRes(), geo, identityMap(20, 30)),
    /original image is 21x30 but the frame map starts from 20x30/,
  );
  assert.throws(
    () => new SamMaskTargets(lowRes(), { ...geo, inputSize: [80, 45] }, identityMap(21, 30)),
    /input size 80x45 must fit the 64x64/,
  );
});

test('full masks: one level, bilinear point samples of the augmented-frame mask as Mask2Former', () => {
  const masks = torch.tensor([
    [
      [0, 1],
      [1, 1],
    ],
  ]);
  const t = new DenseMaskTargets(masks);
  assert.equal(t.levels, 1);
  // Pixel centres read the pixels; the centre of the 2x2 mask reads the mean 0.75.
  const coords = torch.tensor([
    [
      [0.25, 0.25],
      [0.75, 0.25],
      [0.5, 0.5],
    ],
  ]);
  assert.deepEqual(t.sampleAll(coords).toArray(), [[[0, 1, 0.75]]]);
  assert.deepEqual(t.samplePairs([0], [0], coords).toArray(), [[0, 1, 0.75]]);
});

test('original-frame masks (SAM postprocessed once) read through the frame map agree with the low-res path', () => {
  const low = lowRes();
  const frame = composeMaps(flipMap(21, 30), cropMap(21, 30, -3, 2, 26, 26)); // 3 padding columns, crop 2 rows
  const exact = new SamMaskTargets(low, geo, frame);
  const cached = new FrameMaskTargets(postprocessMasks(low, geo), frame, 0);
  // At the original pixel centres (mapped into the augmented frame) bilinear sampling reads the pixels.
  const pts: number[][] = [];
  for (let y = 2; y < 30; y += 3)
    for (let x = 0; x < 21; x += 2) pts.push(mapPoint(frame, [x + 0.5, y + 0.5]));
  const coords = torch.tensor([pts.map(([x, y]) => [x / 26, y / 26])]);
  assert.deepEqual(cached.sampleAll(coords).toArray(), exact.sampleAll(coords).toArray());
  const pc = coords.expand(2, pts.length, 2).contiguous();
  assert.deepEqual(
    cached.samplePairs([1, 0], [2, 1], pc).toArray(),
    exact.samplePairs([1, 0], [2, 1], pc).toArray(),
  );
  // Points in the padding read background; binary masks without a threshold read soft values as Mask2Former.
  assert.deepEqual(
    cached
      .sampleAll(torch.tensor([[[1 / 26, 0.5]]]))
      .flatten()
      .toArray(),
    [0, 0, 0, 0, 0, 0],
  );
  const binary = new FrameMaskTargets(
    torch.tensor([
      [
        [
          [0, 1],
          [1, 1],
        ],
      ],
    ]),
    identityMap(2, 2),
  );
  assert.deepEqual(
    binary
      .sampleAll(
        torch.tensor([
          [
            [0.25, 0.25],
            [0.5, 0.5],
          ],
        ]),
      )
      .toArray(),
    [[[0, 0.75]]],
  );
  assert.throws(
    () => new FrameMaskTargets(torch.zeros([1, 3, 5, 5]), identityMap(4, 5)),
    /masks are 5x5 but the frame map starts from 4x5/,
  );
});

test('samOriginalFrameLogits equals postprocessMasks by either route (small and large originals)', () => {
  const low = lowRes();
  assert.ok(maxDiff(samOriginalFrameLogits(low, geo), postprocessMasks(low, geo)) < 1e-4); // 30 x 21: taps
  const big = {
    imgSize: 64,
    inputSize: [48, 64] as [number, number],
    originalSize: [60, 80] as [number, number],
  };
  assert.ok(maxDiff(samOriginalFrameLogits(low, big), postprocessMasks(low, big)) < 1e-5); // 60 x 80: resizes
});
