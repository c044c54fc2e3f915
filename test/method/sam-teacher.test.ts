// The real (tiny, random-weight) SAM behind the teacher interface: same outputs as the predictor's own
// original-frame predict, and tags-to-points end to end into SAM mask targets.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import { identityMap } from '../../src/data/augment/frame-map.ts';
import { SamPredictor } from '../../src/sam/predictor.ts';
import type { Sam } from '../../src/sam/sam.ts';
import {
  SamMaskTargets,
  SamPointTeacher,
  samGeometry,
  tagsToPoints,
  tagsToPointsConfig,
} from '../../src/method/index.ts';
import { hasSamFixture } from '../sam/fixture.ts';
import { loadTinySam, manifest, maxAbsDiff, readTensor } from '../sam/parity-fixture.ts';

const skip = hasSamFixture ? false : 'the SAM fixture (../shared/fixtures/sam) is not present';
let sam: Sam;
let embedding: Tensor;
const img = hasSamFixture ? manifest.images.portrait : null;

before(async () => {
  if (skip) return;
  sam = await loadTinySam();
  embedding = readTensor(img!.tensors.image_embeddings).keep();
});
after(() => {
  if (skip) return;
  embedding.dispose();
  sam.dispose();
});

test(
  'SamPointTeacher answers as the official-style predictor does for the same original-frame points',
  { skip },
  async () => {
    const originalSize = img!.original_hw;
    const teacher = new SamPointTeacher(sam, () => ({ embedding, originalSize }));
    const points = [
      [150.5, 200.5],
      [40, 310],
    ];
    const out = await teacher.predictPoints('portrait', torch.tensor(points));
    assert.deepEqual(out.lowResLogits.shape, [2, 3, 64, 64]);
    assert.deepEqual(out.iou.shape, [2, 3]);
    const predictor = new SamPredictor(sam);
    predictor.setImageEmbedding(embedding.clone(), { originalSize });
    points.forEach((p, i) => {
      const one = predictor.predict({ pointCoords: [p], pointLabels: [1], multimaskOutput: true });
      assert.ok(
        maxAbsDiff(one.lowResLogits.toFloat32Array(), out.lowResLogits.select(0, i).toFloat32Array()) < 1e-4,
      );
      assert.ok(
        maxAbsDiff(one.iouPredictions.toFloat32Array(), out.iou.select(0, i).toFloat32Array()) < 1e-5,
      );
    });
    predictor.dispose();
    assert.deepEqual(samGeometry(originalSize, sam.imgSize), {
      imgSize: 256,
      inputSize: img!.input_hw,
      originalSize,
    });
  },
);

test('tags to points end to end with the tiny SAM, then its masks as targets', { skip }, async () => {
  const [H, W] = img!.original_hw;
  const frame = identityMap(W, H);
  const teacher = new SamPointTeacher(sam, () => ({ embedding, originalSize: [H, W] }));
  // Two separated one-cell blobs for class 1.
  const cam = torch.zeros([2, 50, 30]); // a coarse CAM grid covering the frame
  cam.indexPut_([1, 10, 10], 3);
  cam.indexPut_([1, 40, 25], 2);
  const out = await tagsToPoints(
    { embeddingId: 'portrait', cams: cam, tags: [1], frame },
    teacher,
    tagsToPointsConfig(),
  );
  assert.equal(out.peaks.length, 2);
  assert.ok(out.labels.length >= 1 && out.labels.length <= 2);
  assert.ok(out.labels.every((l) => l.classId === 1));
  assert.ok(out.sam);
  assert.deepEqual(out.sam.lowResLogits.shape, [out.labels.length, 3, 64, 64]);
  const targets = new SamMaskTargets(out.sam.lowResLogits, samGeometry([H, W], sam.imgSize), frame);
  const v = targets.sampleAll(torch.rand([1, 32, 2], { generator: new torch.Generator(0) }));
  assert.deepEqual(v.shape, [out.labels.length, 3, 32]);
});
