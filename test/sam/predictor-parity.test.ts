// SamPredictor.predict against the official SamPredictor on every fixture case, from the fixture's
// cached image embeddings (setImageEmbedding): coordinate transforms, full-resolution logits, binary
// masks, IoU, stability scores.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { SamPredictor } from '../../src/sam/predictor.ts';
import type { Sam } from '../../src/sam/sam.ts';
import {
  ErrorLog,
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
  log.print('predictor parity');
  predictor.dispose();
  sam.dispose();
});

/** Pixels where two binary masks differ although the logit is not within `tol` of the threshold. */
function maskMismatches(got: Uint8Array, want: Uint8Array, logits: Float32Array, tol: number): number {
  let bad = 0;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i] && Math.abs(logits[i]) >= tol) bad++;
  return bad;
}

for (const c of manifest.cases) {
  test(`predictor parity: ${caseKey(c)}`, () => {
    const key = caseKey(c);
    const img = manifest.images[c.image];
    torch.tidy(() => {
      predictor.setImageEmbedding(readTensor(img.tensors.image_embeddings), {
        originalSize: img.original_hw,
      });
      assert.deepEqual(predictor.inputSize, img.input_hw);
      if (c.point_coords) {
        const tc = predictor.transformCoords(c.point_coords).toFloat32Array();
        assert.deepEqual(tc, readRaw(`${key}/point_coords_transformed`).data, 'transformed points');
      }
      if (c.box) {
        const tb = predictor.transformBoxes([c.box]).toFloat32Array();
        assert.deepEqual(tb, readRaw(`${key}/box_transformed`).data, 'transformed box');
      }
      const prompt = {
        pointCoords: c.point_coords,
        pointLabels: c.point_labels,
        box: c.box,
        maskInput: c.mask_input ? readTensor(`${key}/mask_input`) : null,
        multimaskOutput: c.multimask_output,
      };
      const r = predictor.predict({ ...prompt, returnLogits: true });
      const logits = r.masks.toFloat32Array();
      const wantLogits = readRaw(`${key}/mask_logits`);
      assert.deepEqual(r.masks.shape, wantLogits.shape);
      const e = {
        mask_logits: log.note('mask_logits', maxAbsDiff(logits, wantLogits.data)),
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
        JSON.stringify(e),
      );
      assert.deepEqual(Array.from(r.iouPredictions.toFloat32Array()).length, c.iou_predictions.length);

      // Binary masks: equal except where the official logit is within 1e-3 of the threshold.
      const b = predictor.predict({ ...prompt, returnLogits: false });
      assert.equal(b.masks.dtype, 'bool');
      const want = readRaw(`${key}/masks`).data as Uint8Array;
      const got = b.masks.toTypedArray() as Uint8Array;
      const bad = maskMismatches(got, want, wantLogits.data as Float32Array, onDevice(1e-3));
      let differing = 0;
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) differing++;
      log.note('mask_pixels_differing', differing);
      assert.equal(bad, 0, `${bad} mask pixels differ away from the threshold`);

      // Stability: a pixel whose official logit is within 1e-3 of threshold +- offset may count differently;
      // the allowed difference is what those pixels can change in the ratio.
      const stab = b.stabilityScores.toFloat32Array();
      const wantStab = readRaw(`${key}/stability_scores`).data as Float32Array;
      const plane = wantLogits.shape[1] * wantLogits.shape[2];
      for (let m = 0; m < stab.length; m++) {
        const l = (wantLogits.data as Float32Array).subarray(m * plane, (m + 1) * plane);
        let near = 0;
        let union = 0;
        for (const v of l) {
          if (Math.abs(v - 1) < onDevice(1e-3) || Math.abs(v + 1) < onDevice(1e-3)) near++;
          if (v > -1) union++;
        }
        const tol = (2 * near) / Math.max(1, union - near) + 1e-6;
        const err = log.note('stability', Math.abs(stab[m] - wantStab[m]));
        assert.ok(err <= tol, `stability score ${m} differs by ${err} (allowed ${tol})`);
      }
      assert.deepEqual(Array.from(stab), Array.from(r.stabilityScores.toFloat32Array()));
    });
  });
}

test('predictTorch with lowResOnly gives the same low-res logits and low-res stability scores', () => {
  const c = manifest.cases.find((x) => x.name === 'point1' && x.multimask_output && x.image === 'landscape')!;
  const img = manifest.images[c.image];
  const want = manifest.cases.find((x) => x === c) as unknown as { stability_scores_low_res: number[] };
  torch.tidy(() => {
    predictor.setImageEmbedding(readTensor(img.tensors.image_embeddings), { originalSize: img.original_hw });
    const r = predictor.predictTorch({
      pointCoords: readTensor(`${caseKey(c)}/point_coords_transformed`).unsqueeze(0),
      pointLabels: torch.tensor([c.point_labels!], { dtype: 'int64' }),
      lowResOnly: true,
    });
    assert.equal(r.masks, undefined);
    assert.ok(
      maxAbsDiff(r.lowResLogits.toFloat32Array(), readRaw(`${caseKey(c)}/low_res_logits`).data) <
        onDevice(1e-3),
    );
    const stab = Array.from(r.stabilityScores.toFloat32Array());
    for (let i = 0; i < stab.length; i++)
      assert.ok(Math.abs(stab[i] - want.stability_scores_low_res[i]) < onDevice(1e-4));
  });
});
