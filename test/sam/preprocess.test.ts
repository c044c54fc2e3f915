import assert from 'node:assert/strict';
import { test } from 'node:test';
import { samPreset } from '../../src/sam/config.ts';
import { bilinearCoeffs, pilResizeBilinear } from '../../src/sam/pil-resize.ts';
import {
  applyBoxes,
  applyCoords,
  normalizeAndPad,
  resizedShape,
  resizeLongestSide,
} from '../../src/sam/preprocess.ts';
import { hasSamFixture, maxAbsDiff, readFixture, samManifest } from './fixture.ts';

const skip = hasSamFixture ? false : 'SAM fixture not found at ../shared/fixtures/sam';
const stats = samPreset('vit_b');

for (const name of ['landscape', 'portrait']) {
  test(`${name}: PIL bilinear resize is byte-identical to the official resized_u8`, { skip }, () => {
    const img = readFixture(`${name}/image_u8`);
    const want = readFixture(`${name}/resized_u8`);
    const [h, w] = img.shape;
    const out = resizeLongestSide({ data: img.data as Uint8Array, width: w, height: h }, 256);
    assert.deepEqual([out.height, out.width, 3], want.shape);
    assert.deepEqual([out.height, out.width], samManifest().images[name].input_hw);
    let diff = 0;
    for (let i = 0; i < out.data.length; i++) if (out.data[i] !== want.data[i]) diff++;
    assert.equal(diff, 0, `${diff} bytes differ`);
  });

  test(`${name}: normalised padded input within 1e-5 of input_tensor`, { skip }, () => {
    const r = readFixture(`${name}/resized_u8`);
    const want = readFixture(`${name}/input_tensor`);
    const out = normalizeAndPad(
      { data: r.data as Uint8Array, height: r.shape[0], width: r.shape[1] },
      256,
      stats,
    );
    assert.deepEqual([1, 3, 256, 256], want.shape);
    const err = maxAbsDiff(out, want.data);
    assert.ok(err <= 1e-5, `max abs error ${err}`);
  });
}

test('transformed point and box coordinates equal the official float32 values', { skip }, () => {
  const m = samManifest();
  let checked = 0;
  for (const c of m.cases) {
    const hw = m.images[c.image].original_hw;
    if (c.point_coords && c.tensors.point_coords_transformed) {
      const want = readFixture(c.tensors.point_coords_transformed).data;
      assert.deepEqual(
        Array.from(applyCoords(c.point_coords.flat(), hw, 256)),
        Array.from(want),
        `${c.image}/${c.name}`,
      );
      checked++;
    }
    if (c.box && c.tensors.box_transformed) {
      const want = readFixture(c.tensors.box_transformed).data;
      assert.deepEqual(Array.from(applyBoxes(c.box, hw, 256)), Array.from(want), `${c.image}/${c.name} box`);
      checked++;
    }
  }
  assert.ok(checked >= 4, `only ${checked} coordinate sets found`);
});

test('resizedShape: longest side L, the other rounded half up (hand-computed)', () => {
  assert.deepEqual(resizedShape([180, 240], 256), [192, 256]);
  assert.deepEqual(resizedShape([400, 300], 256), [256, 192]);
  // 1024 / 3 * 1 = 341.33 -> 341; 1024 / 6 * 1 = 170.67 -> 171
  assert.deepEqual(resizedShape([1, 3], 1024), [341, 1024]);
  assert.deepEqual(resizedShape([6, 1], 1024), [1024, 171]);
  assert.throws(() => resizedShape([0, 5], 1024), /positive integers/);
});

test('PIL coefficients: weights sum to 2^22 (within rounding) and match hand-computed 2 -> 4 upscale', () => {
  // 2 -> 4: scale 0.5, centres 0.25, 0.75, 1.25, 1.75; taps clipped at the borders.
  const c = bilinearCoeffs(2, 4);
  const ONE = 2 ** 22;
  assert.deepEqual(Array.from(c.start), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(c.count), [1, 2, 2, 1]);
  // output 1: centre 0.75 -> taps at 0.5, 1.5: weights 0.75, 0.25
  assert.equal(c.weights[1 * c.ksize], 0.75 * ONE);
  assert.equal(c.weights[1 * c.ksize + 1], 0.25 * ONE);
  for (const [inS, outS] of [
    [7, 3],
    [100, 33],
    [5, 11],
    [1000, 1024],
  ]) {
    const k = bilinearCoeffs(inS, outS);
    for (let i = 0; i < outS; i++) {
      let s = 0;
      for (let x = 0; x < k.count[i]; x++) s += k.weights[i * k.ksize + x];
      assert.ok(Math.abs(s - ONE) <= k.count[i], `${inS}->${outS} sample ${i}: sum ${s}`);
    }
  }
});

test('PIL resize: constant image stays constant; same size is the identity', () => {
  const data = new Uint8Array(13 * 9 * 3).fill(77);
  const out = pilResizeBilinear({ data, width: 13, height: 9 }, 5, 20);
  assert.ok(out.data.every((v) => v === 77));
  const rnd = Uint8Array.from({ length: 4 * 6 * 3 }, (_, i) => (i * 37) % 256);
  assert.deepEqual(pilResizeBilinear({ data: rnd, width: 6, height: 4 }, 6, 4).data, rnd);
});

test('normalizeAndPad: pad is zero and values are (x - mean) / std', () => {
  const img = { data: new Uint8Array([0, 128, 255, 10, 20, 30]), width: 2, height: 1 };
  const out = normalizeAndPad(img, 3, stats);
  assert.equal(out.length, 27);
  assert.equal(out[0], Math.fround(Math.fround(0 - Math.fround(123.675)) / Math.fround(58.395)));
  assert.equal(out[9 + 1], Math.fround(Math.fround(20 - Math.fround(116.28)) / Math.fround(57.12)));
  for (const i of [2, 3, 4, 5, 6, 7, 8, 11, 26]) assert.equal(out[i], 0);
  assert.throws(() => normalizeAndPad(img, 1, stats), /exceeds/);
});
