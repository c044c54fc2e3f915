// Cases small enough to check by hand: each states the expected number and why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../src/data/mask/index.ts';
import { cocoEval, loadResults, type EvalGroundTruth, type IouType } from '../../src/eval/index.ts';
import { boxResult, makeGt, type B } from './builders.ts';

// Precision is tp / (tp + fp + eps) as in pycocotools, so a perfect score is 1 - 2e-16: compare to 1e-12.
function close(actual: number, expected: number, msg?: string) {
  assert.ok(Math.abs(actual - expected) <= 1e-12, `${msg ?? ''} got ${actual}, want ${expected}`);
}

function run(gt: EvalGroundTruth, results: unknown[], iouType: IouType = 'bbox') {
  return cocoEval(gt, loadResults(gt, results, 'dt.json'), iouType);
}

function maskRle(box: B, size = 200) {
  const data = new Uint8Array(size * size);
  for (let y = box[1]; y < box[1] + box[3]; y++)
    for (let x = box[0]; x < box[0] + box[2]; x++) data[y * size + x] = 1;
  return encode({ height: size, width: size, data });
}

test('one ground truth, one perfect detection: AP = AR = 1; other size ranges -1', () => {
  for (const iouType of ['bbox', 'segm'] as const) {
    const gt = makeGt([{ box: [10, 10, 20, 20] }]); // area 400: small
    const s = run(gt, [boxResult([10, 10, 20, 20], 0.9)], iouType).stats;
    close(s.AP, 1, iouType);
    close(s.AP50, 1);
    close(s.AP75, 1);
    close(s.APs, 1);
    assert.equal(s.APm, -1);
    assert.equal(s.APl, -1);
    close(s.AR1, 1);
    close(s.ARs, 1);
    assert.equal(s.ARm, -1);
  }
});

test('a detection with IoU exactly 0.5 matches at t=0.5 only: AP50 = 1, AP = 0.1', () => {
  const gt = makeGt([{ box: [0, 0, 10, 10] }]);
  const s = run(gt, [boxResult([0, 0, 10, 5], 1)]).stats; // inter 50 / union 100
  close(s.AP50, 1);
  close(s.AP75, 0);
  close(s.AP, 0.1);
  close(s.AR100, 0.1);
});

test('crowd regions absorb detections inside them instead of counting them as false positives', () => {
  const objects = [{ box: [0, 0, 20, 20] as B }, { box: [100, 100, 80, 80] as B, crowd: true }];
  const results = [
    boxResult([0, 0, 20, 20], 0.9), // true positive
    boxResult([110, 110, 20, 20], 0.95), // inside the crowd: intersection / own area = 1
    boxResult([140, 140, 20, 20], 0.8),
  ];
  close(run(makeGt(objects), results).stats.AP, 1);
  // Without the crowd flag both are false positives (IoU 400/6400 with the big box). Sorted: FP, TP, FP
  // -> recall [0, 1/2, 1/2], precision [0, 1/2, 1/3], envelope [1/2, 1/2, 1/3]. Recall points 0..0.50
  // (51 of 101) read 1/2, the rest 0: AP50 = 51 * 0.5 / 101.
  const plain = makeGt([objects[0], { box: objects[1].box }]);
  close(run(plain, results).stats.AP50, (51 * 0.5) / 101);
});

test('score ties keep file order (stable sort): AP depends on which comes first', () => {
  const gt = makeGt([{ box: [0, 0, 20, 20] }]);
  const tp = boxResult([0, 0, 20, 20], 0.5);
  const fp = boxResult([100, 100, 20, 20], 0.5);
  close(run(gt, [tp, fp]).stats.AP, 1); // TP first: precision 1 at recall 1
  // FP first: precisions [0, 1/2] -> envelope [1/2, 1/2], recall reaches 1 at index 1.
  close(run(gt, [fp, tp]).stats.AP, 0.5);
});

test('with equal IoU the later ground truth wins the match', () => {
  // det A overlaps G1 and G2 with IoU 0.5 each; det B is exactly G1. If A takes G2 (the later one),
  // both detections are true positives at t=0.5.
  const gt = makeGt([{ box: [0, 0, 10, 10] }, { box: [10, 0, 10, 10] }]);
  const s = run(gt, [boxResult([0, 0, 20, 10], 0.9), boxResult([0, 0, 10, 10], 0.8)]).stats;
  close(s.AP50, 1);
});

test('maxDets: with two objects and one detection per image counted, AR1 = 0.5', () => {
  const gt = makeGt([{ box: [0, 0, 20, 20] }, { box: [50, 50, 20, 20] }]);
  const s = run(gt, [boxResult([0, 0, 20, 20], 0.9), boxResult([50, 50, 20, 20], 0.8)]).stats;
  close(s.AR1, 0.5);
  close(s.AR10, 1);
  close(s.AP, 1);
});

test('area ranges are inclusive: an object of area exactly 32^2 is both small and medium', () => {
  const gt = makeGt([{ box: [0, 0, 32, 32] }]);
  const s = run(gt, [boxResult([0, 0, 32, 32], 1)]).stats;
  close(s.APs, 1);
  close(s.APm, 1);
  assert.equal(s.APl, -1);
});

test('categories without ground truth give -1 and are left out of the means', () => {
  const gt = makeGt([{ box: [0, 0, 20, 20], cat: 1 }], { cats: [1, 2, 3] });
  // Category 2 has only a detection (no ground truth), category 3 has nothing.
  const res = run(gt, [boxResult([0, 0, 20, 20], 0.9, 1, 1), boxResult([5, 5, 20, 20], 0.9, 1, 2)]);
  close(res.perCategory[0].AP, 1);
  assert.deepEqual(
    res.perCategory.slice(1).map((c) => c.AP),
    [-1, -1],
  );
  close(res.stats.AP, 1);
});

test('no detections at all: zero precision where ground truth exists', () => {
  const gt = makeGt([{ box: [0, 0, 20, 20] }]);
  const s = run(gt, []).stats;
  close(s.AP, 0);
  close(s.AR100, 0);
  assert.equal(s.APm, -1);
});

test("a detection's area is its mask's pixel count, but its box's w*h when the first result has a bbox", () => {
  // A false positive whose mask is small (100 px) but whose stated box is large (40000 px).
  const gt = makeGt([{ box: [0, 0, 20, 20] }]);
  const fpMask = maskRle([150, 150, 10, 10]);
  const tp = { image_id: 1, category_id: 1, segmentation: maskRle([0, 0, 20, 20]), score: 0.9 };
  const fp = { image_id: 1, category_id: 1, segmentation: fpMask, score: 0.95 };
  // Masks only: the FP is small, stays in the small range and ranks first: APs = 0.5.
  close(run(gt, [tp, fp], 'segm').stats.APs, 0.5);
  // With boxes: its area is 200*200, outside the small range, so it is ignored there: APs = 1.
  const withBox = [
    { ...tp, bbox: [0, 0, 20, 20] },
    { ...fp, bbox: [0, 0, 200, 200] },
  ];
  close(run(gt, withBox, 'segm').stats.APs, 1);
});

test('box results evaluated as segm use the rasterised box', () => {
  const gt = makeGt([{ box: [10, 10, 30, 30] }]);
  close(run(gt, [boxResult([10, 10, 30, 30], 1)], 'segm').stats.AP, 1);
});

test('segm IoU comes from the masks even when the stated bbox is elsewhere', () => {
  const gt = makeGt([{ box: [0, 0, 20, 20] }]);
  const result = {
    image_id: 1,
    category_id: 1,
    segmentation: maskRle([0, 0, 20, 20]),
    bbox: [150, 150, 10, 10],
    score: 1,
  };
  close(run(gt, [result], 'segm').stats.AP, 1);
  close(run(gt, [result], 'bbox').stats.AP, 0); // ... and bbox IoU from the stated box
});

test('pycocotools quirk kept: a match to a ground truth with id 0 counts as a false positive', () => {
  // COCOeval stores the matched gt id and later tests it for truth, so id 0 reads as "unmatched".
  const gt = makeGt([{ box: [0, 0, 20, 20], id: 0 }]);
  close(run(gt, [boxResult([0, 0, 20, 20], 1)]).stats.AP, 0);
  close(run(makeGt([{ box: [0, 0, 20, 20], id: 1 }]), [boxResult([0, 0, 20, 20], 1)]).stats.AP, 1);
});
