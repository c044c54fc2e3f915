// Checkpoint adapters between engine Tensors and the safetensors / .pth readers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/engine/index.ts';
import {
  loadPth,
  loadSafetensors,
  loadSafetensorsWithMetadata,
  loadTrainingCheckpoint,
  saveSafetensors,
  saveTrainingCheckpoint,
} from '../../src/engine/io/checkpoint.ts';
import { readSafetensors } from '../../src/engine/io/safetensors.ts';
import { loadPthStateDict } from '../../src/engine/io/pth.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(repoRoot, 'test', 'fixtures', 'pth');
const samPth = resolve(repoRoot, '..', 'shared', 'fixtures', 'sam', 'tiny_sam.pth');

const values = (t: torch.Tensor) => [...t.toTypedArray()].map(Number);

test('saveSafetensors / loadSafetensors round-trip engine tensors of every dtype, views included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wish-ckpt-'));
  try {
    const base = torch.fromTypedArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const tensors: Record<string, torch.Tensor> = {
      f32: base,
      transposed: torch.transpose(base, 0, 1), // non-contiguous: must be written in C order
      f16: torch.fromTypedArray(new Float32Array([0.5, -1.25]), [2], { dtype: 'float16' }),
      bf16: torch.fromTypedArray(new Float32Array([3, -0.5]), [1, 2], { dtype: 'bfloat16' }),
      f64: torch.fromTypedArray(new Float64Array([1 / 3]), [1]),
      i64: torch.fromTypedArray(new BigInt64Array([-(2n ** 40n), 7n]), [2]),
      i32: torch.fromTypedArray(new Int32Array([-5]), []),
      u8: torch.fromTypedArray(new Uint8Array([0, 255]), [2]),
      bool: torch.fromTypedArray(new Uint8Array([1, 0, 1]), [3], { dtype: 'bool' }),
    };
    const path = join(dir, 'm.safetensors');
    await saveSafetensors(path, tensors, { epoch: '3' });
    const raw = await readSafetensors(path);
    assert.deepEqual(
      [...new Float32Array(new Uint8Array(raw.tensors.transposed.data).buffer)],
      [1, 4, 2, 5, 3, 6],
    );
    const { tensors: back, metadata } = await loadSafetensorsWithMetadata(path);
    assert.deepEqual(metadata, { epoch: '3' });
    for (const [k, t] of Object.entries(tensors)) {
      assert.equal(back[k].dtype, t.dtype, k);
      assert.deepEqual(back[k].shape, t.shape, k);
      assert.deepEqual(values(back[k]), values(t), k);
    }
    // dtype conversion on load: floats only
    const asF32 = await loadSafetensors(path, { floatDtype: 'float32' });
    assert.equal(asF32.f16.dtype, 'float32');
    assert.deepEqual(values(asF32.f16), [0.5, -1.25]);
    assert.equal(asF32.i64.dtype, 'int64');
    for (const t of [...Object.values(tensors), ...Object.values(back), ...Object.values(asF32)]) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadPth: tiny_sam.pth gives 202 engine tensors equal to the raw reader', async () => {
  const sd = await loadPth(samPth);
  const raw = await loadPthStateDict(samPth);
  assert.equal(Object.keys(sd).length, 202);
  for (const [k, t] of Object.entries(sd)) {
    assert.deepEqual(t.shape, raw[k].shape);
    assert.deepEqual(new Uint8Array(t.toBuffer()), raw[k].data, k);
    t.dispose();
  }
  const nested = await loadPth(join(fixtures, 'nested.pth'));
  const want = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8'))['nested.pth'].tensors;
  assert.deepEqual(Object.keys(nested), Object.keys(want));
  assert.deepEqual(values(nested['fc.weight']), want['fc.weight'].values);
  for (const t of Object.values(nested)) t.dispose();
});

test('training checkpoints of engine tensors round-trip through one safetensors file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wish-ckpt-'));
  try {
    const w = torch.fromTypedArray(new Float32Array([1, 2]), [2]);
    const m = torch.fromTypedArray(new Float32Array([0.1, 0.2]), [2]);
    const path = join(dir, 'last.safetensors');
    await saveTrainingCheckpoint(path, {
      model: { w },
      optim: {
        type: 'SGD',
        groups: [{ params: ['w'], lr: 0.1, momentum: 0.9 }],
        step: { w: 4 },
        slots: { w: { momentum_buffer: m } },
      },
      train: { epoch: 1 },
    });
    const got = await loadTrainingCheckpoint(path);
    assert.deepEqual(values(got.model.w), [1, 2]);
    assert.deepEqual(values(got.optim!.slots.w.momentum_buffer), values(m));
    assert.deepEqual(got.optim!.groups, [{ params: ['w'], lr: 0.1, momentum: 0.9 }]);
    assert.deepEqual(got.train, { epoch: 1 });
    for (const t of [w, m, got.model.w, got.optim!.slots.w.momentum_buffer]) t.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
