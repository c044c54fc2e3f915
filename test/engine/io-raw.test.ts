// RawTensor helpers and the training-checkpoint layout in safetensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bfloat16ToFloat,
  checkRaw,
  floatToBfloat16,
  floatToHalf,
  fromTyped,
  halfToFloat,
  toFloat32,
  typedView,
  type RawTensor,
} from '../../src/engine/io/raw.ts';
import { readSafetensors, writeSafetensors } from '../../src/engine/io/safetensors.ts';
import {
  CHECKPOINT_FORMAT,
  packCheckpoint,
  unpackCheckpoint,
  type TrainingCheckpoint,
} from '../../src/engine/io/training-state.ts';

test('half floats: hand-checked bit patterns and round-to-nearest-even', () => {
  const cases: [number, number][] = [
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0x8000, -0],
  ];
  for (const [bits, v] of cases) {
    assert.equal(halfToFloat(bits), v, `0x${bits.toString(16)}`);
    assert.equal(floatToHalf(v), bits, `${v}`);
  }
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie -> even
  assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie -> even (up)
  assert.equal(floatToHalf(65520), 0x7c00); // rounds past the largest half -> inf
  assert.equal(floatToHalf(2 ** -26), 0x0000); // below half the smallest subnormal
  assert.equal(floatToHalf(3 * 2 ** -26), 0x0001);
  // every finite half survives a round trip
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN payloads
    assert.equal(floatToHalf(halfToFloat(h)), h);
  }
});

test('bfloat16: hand-checked bit patterns, rounding, and exhaustive round trip', () => {
  assert.equal(floatToBfloat16(1), 0x3f80);
  assert.equal(floatToBfloat16(-2.5), 0xc020);
  assert.equal(bfloat16ToFloat(0x3f80), 1);
  assert.equal(floatToBfloat16(1 + 2 ** -8), 0x3f80); // tie -> even
  assert.equal(floatToBfloat16(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bfloat16ToFloat(floatToBfloat16(NaN))));
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7f80) === 0x7f80 && h & 0x7f) continue;
    assert.equal(floatToBfloat16(bfloat16ToFloat(h)), h);
  }
});

test('typedView shares aligned memory, copies unaligned; toFloat32 converts every dtype', () => {
  const f = fromTyped(new Float32Array([1.5, -2]), [2]);
  const v = typedView(f) as Float32Array;
  v[0] = 3;
  assert.equal(new Float32Array(f.data.buffer)[0], 3); // shared
  const buf = new Uint8Array(9);
  buf.set(new Uint8Array(new Float32Array([7, 8]).buffer), 1);
  const unaligned: RawTensor = { dtype: 'float32', shape: [2], data: buf.subarray(1) };
  assert.deepEqual([...(typedView(unaligned) as Float32Array)], [7, 8]);
  const half = fromTyped(new Uint16Array([0x3c00, 0xc000]), [2], 'float16');
  assert.deepEqual([...toFloat32(half)], [1, -2]);
  const bf = fromTyped(new Uint16Array([0x3f80, 0xc020]), [2], 'bfloat16');
  assert.deepEqual([...toFloat32(bf)], [1, -2.5]);
  assert.deepEqual([...toFloat32(fromTyped(new BigInt64Array([-3n, 5n]), [2]))], [-3, 5]);
  assert.deepEqual([...toFloat32(fromTyped(new Int8Array([-128, 127]), [2]))], [-128, 127]);
  assert.deepEqual([...toFloat32({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) })], [1, 0]);
  assert.throws(() => fromTyped(new Float32Array(2), [2], 'float64'), /a Float32Array cannot hold float64/);
  assert.throws(
    () => checkRaw({ dtype: 'int32', shape: [3], data: new Uint8Array(8) }, 'x'),
    /x: int32 \[3\] needs 12 bytes but has 8/,
  );
  assert.throws(
    () => checkRaw({ dtype: 'int32', shape: [1.5], data: new Uint8Array(8) }),
    /invalid dimension 1.5/,
  );
});

test('training checkpoint: model, AdamW state and trainer scalars survive a safetensors round trip', async () => {
  const w = fromTyped(new Float32Array([1, 2, 3, 4]), [2, 2]);
  const b = fromTyped(new Float32Array([0.5]), [1]);
  const ckpt: TrainingCheckpoint<RawTensor> = {
    model: { 'head.weight': w, 'head.bias': b },
    optim: {
      type: 'AdamW',
      groups: [
        { params: ['head.weight'], lr: 1e-4, weight_decay: 0.05, betas: [0.9, 0.999], eps: 1e-8 },
        { params: ['head.bias'], lr: 1e-4, weight_decay: 0 },
      ],
      step: { 'head.weight': 10, 'head.bias': 10 },
      slots: {
        'head.weight': {
          exp_avg: fromTyped(new Float32Array([0.1, 0.2, 0.3, 0.4]), [2, 2]),
          exp_avg_sq: fromTyped(new Float32Array(4), [2, 2]),
        },
        'head.bias': {
          exp_avg: fromTyped(new Float32Array([1]), [1]),
          exp_avg_sq: fromTyped(new Float32Array([2]), [1]),
        },
      },
    },
    train: { epoch: 2, globalStep: 10, seed: 42 },
    extra: { config: '{"name":"demo"}' },
  };
  const { tensors, metadata } = packCheckpoint<RawTensor>(ckpt);
  assert.deepEqual(Object.keys(tensors).sort(), [
    'head.bias',
    'head.weight',
    'optim/head.bias/exp_avg',
    'optim/head.bias/exp_avg_sq',
    'optim/head.weight/exp_avg',
    'optim/head.weight/exp_avg_sq',
  ]);
  assert.equal(metadata.format, CHECKPOINT_FORMAT);
  const dir = mkdtempSync(join(tmpdir(), 'wish-ckpt-'));
  try {
    const path = join(dir, 'last.safetensors');
    await writeSafetensors(path, tensors, metadata);
    const back = await readSafetensors(path);
    const got = unpackCheckpoint(back.tensors, back.metadata, path);
    assert.deepEqual(got.train, ckpt.train);
    assert.deepEqual(got.extra, ckpt.extra);
    assert.deepEqual(got.optim?.groups, ckpt.optim?.groups);
    assert.deepEqual(got.optim?.step, ckpt.optim?.step);
    assert.deepEqual(Object.keys(got.model).sort(), ['head.bias', 'head.weight']);
    assert.deepEqual(new Uint8Array(got.model['head.weight'].data), w.data);
    assert.deepEqual(
      [...(typedView(got.optim!.slots['head.weight'].exp_avg) as Float32Array)].map((x) =>
        Math.round(x * 10),
      ),
      [1, 2, 3, 4],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('training checkpoint layout errors name the file and the problem', () => {
  const t = fromTyped(new Float32Array(1), [1]);
  assert.throws(() => packCheckpoint({ model: { 'optim/x': t } }), /model key "optim\/x" collides/);
  assert.throws(
    () =>
      packCheckpoint({
        model: {},
        optim: { type: 'SGD', groups: [{ params: ['a'] }], step: {}, slots: { b: { m: t } } },
      }),
    /optimiser state for "b", which is in no parameter group/,
  );
  assert.throws(
    () => unpackCheckpoint({}, { format: 'other/2' }, 'c.safetensors'),
    /c\.safetensors: checkpoint format "other\/2"/,
  );
  assert.throws(
    () => unpackCheckpoint({}, { optim: '{bad' }, 'c.safetensors'),
    /c\.safetensors: __metadata__\.optim is not valid JSON/,
  );
  assert.throws(
    () => unpackCheckpoint({ 'optim/a/m': t }, {}, 'c.safetensors'),
    /optim\/ tensors present but __metadata__\.optim is missing/,
  );
  assert.throws(
    () =>
      unpackCheckpoint(
        { 'optim/a/m': t },
        { optim: '{"type":"SGD","groups":[{"params":["z"]}]}' },
        'c.safetensors',
      ),
    /optimiser state for "a", which is in no parameter group/,
  );
  assert.throws(
    () => unpackCheckpoint({ 'optim/m': t }, { optim: '{"type":"SGD","groups":[]}' }),
    /"optim\/m" is not optim\/<param>\/<slot>/,
  );
});
