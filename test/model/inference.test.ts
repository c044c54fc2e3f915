// Instance inference on a hand-made prediction whose top-k, masks and scores can be worked out by hand:
// 3 queries, 2 classes (+ no object), mask logits on a 2x2 grid (network input 8x8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../src/engine/index.ts';
import { decode } from '../../src/data/mask/index.ts';
import { buildModel } from '../../src/model/build.ts';
import { instanceInference, maskBox, predictInstances, toCocoResults } from '../../src/model/inference.ts';

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
const ln = Math.log;

// class probabilities after softmax: q0 [.6, .3 | .1], q1 [.1, .8 | .1], q2 [.5, .4 | .1]
const logits = () =>
  torch.tensor([
    [
      [ln(6), ln(3), ln(1)],
      [ln(1), ln(8), ln(1)],
      [ln(5), ln(4), ln(1)],
    ],
  ]);
// q0: +2 everywhere (full mask); q1: +3 left column, -3 right column (left half after upsampling);
// q2: -1 everywhere (empty mask)
const masks = () =>
  torch.tensor([
    [
      [
        [2, 2],
        [2, 2],
      ],
      [
        [3, -3],
        [3, -3],
      ],
      [
        [-1, -1],
        [-1, -1],
      ],
    ],
  ]);

test('top-k over queries x classes, mask threshold at logit 0, score = class prob x mean mask prob', () => {
  const [insts] = torch.tidy(() =>
    instanceInference(logits(), masks(), [{ resized: [8, 8] }], { categoryIds: [10, 20] }),
  );
  // top 3 of {q0c0 .6, q0c1 .3, q1c0 .1, q1c1 .8, q2c0 .5, q2c1 .4} = q1c1, q0c0, q2c0
  assert.equal(insts.length, 3);
  // bilinear 2 -> 8 (align_corners false) of [3, -3] gives columns 3, 3, 2.25, 0.75, -0.75, -2.25, -3, -3
  const m1 = (2 * sig(3) + sig(2.25) + sig(0.75)) / 4;
  const expected = [
    { categoryId: 20, score: 0.8 * m1, bbox: [0, 0, 4, 8], area: 32 },
    { categoryId: 10, score: 0.6 * sig(2), bbox: [0, 0, 8, 8], area: 64 },
    { categoryId: 10, score: 0, bbox: [0, 0, 0, 0], area: 0 },
  ];
  insts.forEach((inst, i) => {
    assert.equal(inst.categoryId, expected[i].categoryId);
    assert.ok(
      Math.abs(inst.score - expected[i].score) < 1e-5,
      `score ${i}: ${inst.score} vs ${expected[i].score}`,
    );
    assert.deepEqual(inst.bbox, expected[i].bbox);
    assert.equal(inst.mask.height, 8);
    assert.equal(inst.mask.width, 8);
    assert.equal(
      inst.mask.data.reduce((a, b) => a + b, 0),
      expected[i].area,
    );
  });
  // q1's mask is exactly the left half, row-major
  for (let y = 0; y < 8; y++)
    for (let x = 0; x < 8; x++) assert.equal(insts[0].mask.data[y * 8 + x], x < 4 ? 1 : 0);
});

test('topK, minScore, padding crop and resize to the original size', () => {
  torch.tidy(() => {
    const [top1] = instanceInference(logits(), masks(), [{ resized: [8, 8] }], { topK: 1 });
    assert.equal(top1.length, 1);
    assert.equal(top1[0].categoryId, 1);
    const [kept] = instanceInference(logits(), masks(), [{ resized: [8, 8] }], { minScore: 0.01 });
    assert.equal(kept.length, 2);
    // content in the left 4 columns of the 8x8 input: q1's mask covers all of it
    const [cropped] = instanceInference(logits(), masks(), [{ resized: [8, 4] }]);
    assert.deepEqual(cropped[0].bbox, [0, 0, 4, 8]);
    assert.equal(cropped[0].mask.data.length, 32);
    assert.ok(cropped[0].mask.data.every((v) => v === 1));
    // back to a 16x16 original: the left half again
    const [big] = instanceInference(logits(), masks(), [{ resized: [8, 8], original: [16, 16] }]);
    assert.deepEqual(big[0].bbox, [0, 0, 8, 16]);
    assert.equal(
      big[0].mask.data.reduce((a, b) => a + b, 0),
      128,
    );
  });
});

test('bad input is reported', () => {
  torch.tidy(() => {
    assert.throws(() => instanceInference(logits(), masks(), []), /0 frames for 1 images/);
    assert.throws(() => instanceInference(logits(), masks(), [{ resized: [9, 8] }]), /does not fit/);
    assert.throws(
      () => instanceInference(logits(), masks(), [{ resized: [8, 8] }], { categoryIds: [1] }),
      /1 category ids for 2 classes/,
    );
  });
});

test('maskBox and COCO results (RLE decodes back to the mask)', () => {
  const data = new Uint8Array(5 * 4);
  data[1 * 4 + 2] = 1;
  data[3 * 4 + 1] = 1;
  assert.deepEqual(maskBox(data, 5, 4), [1, 1, 2, 3]);
  assert.deepEqual(maskBox(new Uint8Array(6), 2, 3), [0, 0, 0, 0]);
  const [insts] = torch.tidy(() => instanceInference(logits(), masks(), [{ resized: [8, 8] }]));
  const res = toCocoResults(42, insts);
  assert.equal(res.length, 3);
  res.forEach((r, i) => {
    assert.equal(r.image_id, 42);
    assert.equal(r.category_id, insts[i].categoryId);
    assert.equal(r.score, insts[i].score);
    assert.deepEqual(r.segmentation.size, [8, 8]);
    assert.deepEqual(decode(r.segmentation).data, insts[i].mask.data);
  });
});

test('predictInstances runs a model end to end: k instances per image at the original size, mode restored', () => {
  torch.manualSeed(3);
  const model = buildModel({
    numClasses: 3,
    promptDim: 8,
    inputSize: 64,
    backbone: { kind: 'small-cnn', widths: [8, 8, 16, 16], depth: 1 },
    pixelDecoder: { kind: 'fpn', convDim: 16, maskDim: 16 },
    decoder: { hiddenDim: 16, numQueries: 4, nHeads: 2, dimFeedforward: 32, layers: 2 },
  });
  model.train();
  const res = torch.tidy(() =>
    predictInstances(model, torch.randn([2, 3, 64, 64]), [
      { resized: [64, 48], original: [100, 75] },
      { resized: [64, 64] },
    ]),
  );
  assert.equal(model.training, true);
  assert.deepEqual(
    res.map((r) => r.length),
    [4, 4],
  );
  assert.deepEqual([res[0][0].mask.height, res[0][0].mask.width], [100, 75]);
  assert.deepEqual([res[1][0].mask.height, res[1][0].mask.width], [64, 64]);
  for (const r of res) {
    for (let i = 1; i < r.length; i++) assert.ok(r[i - 1].score >= r[i].score);
    for (const inst of r)
      assert.ok(inst.score >= 0 && inst.score <= 1 && inst.categoryId >= 0 && inst.categoryId < 3);
  }
  model.dispose();
});

test('normalizeImages: (x - ImageNet mean) / std per RGB channel on the 0-255 scale', async () => {
  const { normalizeImages } = await import('../../src/model/normalize.ts');
  torch.tidy(() => {
    const x = torch.tensor([[[[123.675]], [[0]], [[255]]]], { dtype: 'float32' });
    const y = normalizeImages(x).toFloat32Array();
    assert.ok(Math.abs(y[0]) < 1e-6);
    assert.ok(Math.abs(y[1] - -116.28 / 57.12) < 1e-5);
    assert.ok(Math.abs(y[2] - (255 - 103.53) / 57.375) < 1e-5);
    assert.throws(() => normalizeImages(torch.zeros([1, 1, 2, 2])), /\[B, 3, H, W\]/);
  });
});
