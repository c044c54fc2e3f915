// Batched decoding: hundreds of prompts in one predictTorch call (chunked) give what one-prompt calls
// give; the shared-image fast path (dense map of batch 1) equals the per-row path the official code takes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { decodePrompts, SamPredictor } from '../../src/sam/predictor.ts';
import type { Sam } from '../../src/sam/sam.ts';
import { loadTinySam, manifest, maxAbsDiff, onDevice, readTensor } from './parity-fixture.ts';

let sam: Sam;
let predictor: SamPredictor;
const img = manifest.images.portrait;
before(async () => {
  sam = await loadTinySam();
  predictor = new SamPredictor(sam);
  torch.tidy(() =>
    predictor.setImageEmbedding(readTensor(img.tensors.image_embeddings), { originalSize: img.original_hw }),
  );
});
after(() => {
  predictor.dispose();
  sam.dispose();
});

test('96 point prompts in chunks of 40 equal one-prompt calls (low-res logits, IoU, stability)', () => {
  torch.tidy(() => {
    torch.manualSeed(3);
    const [h, w] = img.input_hw;
    const B = 96;
    const coords = torch.rand([B, 1, 2]).mul(torch.tensor([w, h])); // input frame
    const labels = torch.ones([B, 1], { dtype: 'int64' });
    const all = predictor.predictTorch({
      pointCoords: coords,
      pointLabels: labels,
      lowResOnly: true,
      chunkSize: 40,
    });
    assert.deepEqual(all.lowResLogits.shape, [B, 3, 64, 64]);
    assert.deepEqual(all.iouPredictions.shape, [B, 3]);
    for (const i of [0, 39, 40, 95]) {
      const one = predictor.predictTorch({
        pointCoords: coords.narrow(0, i, 1),
        pointLabels: labels.narrow(0, i, 1),
        lowResOnly: true,
      });
      assert.ok(
        maxAbsDiff(one.lowResLogits.toFloat32Array(), all.lowResLogits.narrow(0, i, 1).toFloat32Array()) <
          onDevice(1e-4),
      );
      assert.ok(
        maxAbsDiff(one.iouPredictions.toFloat32Array(), all.iouPredictions.narrow(0, i, 1).toFloat32Array()) <
          onDevice(1e-5),
      );
      assert.deepEqual(
        one.stabilityScores.toFloat32Array(),
        all.stabilityScores.narrow(0, i, 1).toFloat32Array(),
      );
    }
  });
});

test('boxes in a batch, full-resolution masks: shapes and agreement with single calls', () => {
  torch.tidy(() => {
    const boxes = torch.tensor([
      [10, 20, 100, 200],
      [50, 60, 150, 240],
      [0, 0, 191, 255],
    ]);
    const r = predictor.predictTorch({ boxes, multimaskOutput: false, chunkSize: 2 });
    assert.deepEqual(r.masks!.shape, [3, 1, ...img.original_hw]);
    assert.equal(r.masks!.dtype, 'bool');
    const one = predictor.predictTorch({
      boxes: boxes.narrow(0, 1, 1),
      multimaskOutput: false,
      returnLogits: true,
    });
    const agree = one
      .masks!.gt(0)
      .eq(r.masks!.narrow(0, 1, 1))
      .all()
      .item();
    assert.equal(agree, 1);
  });
});

test('the batch-1 dense fast path equals the per-row dense path and per-prompt image embeddings', () => {
  torch.tidy(() => {
    const emb = predictor.getImageEmbedding();
    const coords = torch.tensor([[[20, 30]], [[100, 150]], [[180, 10]]]);
    const labels = torch.ones([3, 1], { dtype: 'int64' });
    const pe = sam.promptEncoder;
    const { sparse, dense } = pe.forward({ points: { coords, labels } });
    const dec = (imageEmbeddings: torch.Tensor, densePromptEmbeddings: torch.Tensor) =>
      sam.maskDecoder.forward(
        { imageEmbeddings, imagePe: pe.getDensePe(), sparsePromptEmbeddings: sparse, densePromptEmbeddings },
        true,
      ).masks;
    const fast = dec(emb, dense.narrow(0, 0, 1));
    const perRow = dec(emb.expand(3, -1, -1, -1).contiguous(), dense.contiguous());
    assert.ok(maxAbsDiff(fast.toFloat32Array(), perRow.toFloat32Array()) < onDevice(1e-4));
    // decodePrompts with one embedding per prompt
    const r = decodePrompts(
      sam,
      emb.expand(3, -1, -1, -1),
      { originalSize: img.original_hw, inputSize: img.input_hw },
      {
        pointCoords: coords,
        pointLabels: labels,
        lowResOnly: true,
      },
    );
    assert.ok(maxAbsDiff(r.lowResLogits.toFloat32Array(), fast.toFloat32Array()) < onDevice(1e-4));
  });
});

test('bad prompt batches are refused with a message naming the problem', () => {
  torch.tidy(() => {
    assert.throws(() => predictor.predictTorch({}), /give points, a box or a mask input/);
    assert.throws(
      () =>
        predictor.predictTorch({
          pointCoords: torch.zeros([2, 1, 2]),
          pointLabels: torch.ones([2, 1]),
          boxes: torch.zeros([3, 4]),
        }),
      /disagree on the number of prompts/,
    );
    assert.throws(() => predictor.predictTorch({ pointCoords: torch.zeros([2, 1, 2]) }), /go together/);
    assert.throws(
      () => predictor.predict({ pointCoords: [[1, 2]], pointLabels: [2] }),
      /labels must be 1, 0 or -1/,
    );
    assert.throws(() => predictor.predict({ box: [1, 2, 3] }), /box must be/);
    assert.throws(
      () => predictor.predict({ pointCoords: [[1, 2, 3]], pointLabels: [1] }),
      /point 0 has 3 numbers/,
    );
    assert.throws(
      () => predictor.setImageEmbedding(torch.zeros([1, 64, 8, 8]), { originalSize: [10, 10] }),
      /expected \[1, 64, 16, 16\]/,
    );
  });
});
