// End to end from the uint8 image: setImage (PIL-exact resize, normalise, pad, ViT encoder) then predict,
// against the official SamPredictor, for one case per image (the other cases share the decoder path that
// predictor-parity.test.ts checks from the cached embeddings).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { SamPredictor } from '../../src/sam/predictor.ts';
import type { Sam } from '../../src/sam/sam.ts';
import {
  ErrorLog,
  SAM_FIXTURE_DIR,
  caseKey,
  loadTinySam,
  manifest,
  maxAbsDiff,
  onDevice,
  readRaw,
  readTensor,
} from './parity-fixture.ts';

const log = new ErrorLog();
let sam: Sam;
let predictor: SamPredictor;
before(async () => {
  sam = await loadTinySam();
  predictor = new SamPredictor(sam);
});
after(() => {
  log.print('predictor end-to-end');
  predictor.dispose();
  sam.dispose();
});

for (const [image, name] of [
  ['landscape', 'box_point'],
  ['portrait', 'box_point'],
] as const) {
  test(`end to end from the uint8 image: ${image}/${name}`, () => {
    const img = manifest.images[image];
    const u8 = readRaw(img.tensors.image_u8);
    const [h, w] = img.original_hw;
    predictor.setRgbImage({ data: u8.data as Uint8Array, width: w, height: h });
    assert.deepEqual(predictor.originalSize, [h, w]);
    assert.deepEqual(predictor.inputSize, img.input_hw);
    torch.tidy(() => {
      const emb = predictor.getImageEmbedding();
      const embErr = log.note(
        'image_embeddings',
        maxAbsDiff(emb.toFloat32Array(), readRaw(img.tensors.image_embeddings).data),
      );
      assert.ok(embErr < onDevice(1e-4), `image embeddings: ${embErr}`);
      for (const c of manifest.cases.filter((x) => x.image === image && x.name === name)) {
        const key = caseKey(c);
        const r = predictor.predict({
          pointCoords: c.point_coords,
          pointLabels: c.point_labels,
          box: c.box,
          multimaskOutput: c.multimask_output,
          returnLogits: true,
        });
        const e = {
          mask_logits: log.note(
            'mask_logits',
            maxAbsDiff(r.masks.toFloat32Array(), readRaw(`${key}/mask_logits`).data),
          ),
          low_res_logits: log.note(
            'low_res_logits',
            maxAbsDiff(r.lowResLogits.toFloat32Array(), readRaw(`${key}/low_res_logits`).data),
          ),
          iou: log.note(
            'iou',
            maxAbsDiff(r.iouPredictions.toFloat32Array(), readRaw(`${key}/iou_predictions`).data),
          ),
        };
        assert.ok(
          e.mask_logits < onDevice(1e-3) && e.low_res_logits < onDevice(1e-3) && e.iou < onDevice(1e-4),
          `${key}: ${JSON.stringify(e)}`,
        );
      }
    });
  });
}

test('setImage reads an image file (the fixture PNG) and gives the same embedding as the raw pixels', async () => {
  const img = manifest.images.landscape;
  await predictor.setImage(join(SAM_FIXTURE_DIR, img.png));
  torch.tidy(() => {
    const err = maxAbsDiff(
      predictor.getImageEmbedding().toFloat32Array(),
      readRaw(img.tensors.image_embeddings).data,
    );
    assert.ok(err < onDevice(1e-4), `${err}`);
  });
  predictor.resetImage();
  assert.equal(predictor.isImageSet, false);
  assert.throws(() => predictor.predict({ pointCoords: [[1, 1]], pointLabels: [1] }), /no image set/);
});

test('Sam.preprocess (normalise + pad on the model device) gives the official input tensor', () => {
  for (const image of ['landscape', 'portrait'] as const) {
    const img = manifest.images[image];
    torch.tidy(() => {
      const resized = readTensor(img.tensors.resized_u8); // [h, w, 3] uint8
      const x = sam.preprocess(resized.permute(2, 0, 1).unsqueeze(0));
      assert.deepEqual(x.shape, [1, 3, sam.imgSize, sam.imgSize]);
      const err = maxAbsDiff(x.toFloat32Array(), readRaw(img.tensors.input_tensor).data);
      assert.ok(err < 1e-6, `${image}: ${err}`);
    });
  }
  assert.throws(
    () => torch.tidy(() => sam.preprocess(torch.zeros([1, 3, 300, 10]))),
    /expected \[B, 3, h <= 256/,
  );
});
