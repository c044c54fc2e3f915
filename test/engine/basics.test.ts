// Creation, data round trips, element-wise math with broadcasting, matmul, errors-not-crashes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';

test('typed-array round trip keeps dtype, shape and values', () => {
  const f = torch.fromTypedArray(new Float32Array([1.5, -2, 3, 4, 5, 6]), [2, 3]);
  assert.deepEqual(f.shape, [2, 3]);
  assert.equal(f.dtype, 'float32');
  assert.deepEqual(Array.from(f.toFloat32Array()), [1.5, -2, 3, 4, 5, 6]);
  const i = torch.fromTypedArray(new BigInt64Array([1n, -2n, 9007199254740993n]));
  assert.equal(i.dtype, 'int64');
  assert.deepEqual(Array.from(i.toTypedArray() as BigInt64Array), [1n, -2n, 9007199254740993n]);
  const u = torch.fromTypedArray(new Uint8Array([0, 255]), [2]);
  assert.equal(u.dtype, 'uint8');
  assert.deepEqual(Array.from(u.toTypedArray() as Uint8Array), [0, 255]);
  const h = torch.tensor([0.5, 1.25, -3], { dtype: 'float16' });
  assert.equal(h.dtype, 'float16');
  assert.deepEqual(Array.from(h.toFloat32Array()), [0.5, 1.25, -3]);
  const b = torch.tensor([true, false]);
  assert.equal(b.dtype, 'bool');
  assert.deepEqual(b.toArray(), [1, 0]);
});

test('fromBuffer / toBuffer are raw little-endian bytes', () => {
  const buf = Buffer.alloc(8);
  buf.writeFloatLE(1.5, 0);
  buf.writeFloatLE(-7, 4);
  const t = torch.fromBuffer(buf, 'float32', [2, 1]);
  assert.deepEqual(t.toArray(), [[1.5], [-7]]);
  assert.deepEqual(t.toBuffer(), buf);
  // bfloat16 1.0 is 0x3f80
  const bf = torch.fromBuffer(Buffer.from([0x80, 0x3f, 0x00, 0xc0]), 'bfloat16', [2]);
  assert.deepEqual(Array.from(bf.toTypedArray() as Float32Array), [1, -2]);
  assert.deepEqual(bf.toBuffer(), Buffer.from([0x80, 0x3f, 0x00, 0xc0]));
  assert.throws(() => torch.fromBuffer(Buffer.alloc(7), 'float32', [2]), /needs 8 bytes, got 7/);
  assert.deepEqual(torch.fromBuffer(Buffer.from([0, 2, 1]), 'bool', [3]).toArray(), [0, 1, 1]);
});

test('broadcasting element-wise ops and scalars follow PyTorch promotion', () => {
  const a = torch.tensor([[1, 2, 3]]); // [1, 3]
  const b = torch.tensor([[10], [20]]); // [2, 1]
  assert.deepEqual(a.add(b).toArray(), [
    [11, 12, 13],
    [21, 22, 23],
  ]);
  assert.deepEqual(a.sub(b, 2).toArray(), [
    [-19, -18, -17],
    [-39, -38, -37],
  ]);
  const i = torch.arange(4);
  assert.equal(i.dtype, 'int64');
  assert.equal(i.mul(2).dtype, 'int64');
  assert.equal(i.mul(0.5).dtype, 'float32');
  assert.equal(i.div(2).dtype, 'float32'); // true division
  assert.deepEqual(i.div(2).toArray(), [0, 0.5, 1, 1.5]);
  assert.deepEqual(torch.sub(1, i).toArray(), [1, 0, -1, -2]);
  assert.deepEqual(i.gt(1).toArray(), [0, 0, 1, 1]);
  assert.equal(i.gt(1).dtype, 'bool');
});

test('matmul, bmm and einsum agree with hand-computed products', () => {
  const a = torch.tensor([
    [1, 2],
    [3, 4],
  ]);
  const b = torch.tensor([
    [5, 6],
    [7, 8],
  ]);
  assert.deepEqual(a.matmul(b).toArray(), [
    [19, 22],
    [43, 50],
  ]);
  const ab = torch.stack([a, b]);
  assert.deepEqual(ab.bmm(ab).toArray(), [
    [
      [7, 10],
      [15, 22],
    ],
    [
      [67, 78],
      [91, 106],
    ],
  ]);
  assert.deepEqual(torch.einsum('ij,jk->ik', a, b).toArray(), a.matmul(b).toArray());
});

test('bad input throws JS errors with libtorch messages, never crashes', () => {
  const a = torch.zeros([2, 3]);
  assert.throws(() => a.matmul(torch.zeros([2, 3])), /cannot be multiplied/);
  assert.throws(() => a.add(torch.zeros([4])), /size of tensor a \(3\) must match/);
  if (!torch.cuda.isAvailable()) {
    assert.throws(() => torch.zeros([2], { device: 'cuda' }), /CUDA is not available|cuda/i);
  }
  assert.throws(() => torch.zeros([2], { device: 'cuda:7' }), /cuda/i);
  assert.throws(() => torch.zeros([2], { device: 'tpu' }), Error);
  assert.throws(() => torch.zeros([2], { dtype: 'float8' as torch.DType }), /unknown dtype/);
  assert.throws(() => a.view(5), /invalid for input of size 6/);
  const d = torch.ones([2]);
  d.dispose();
  assert.ok(d.isDisposed);
  assert.throws(() => d.add(1), /used after dispose/);
  assert.throws(() => torch.add({} as torch.Tensor, 1), /must be a Tensor|expected a number/);
  assert.throws(() => torch.tensor([[1, 2], [3]]), /ragged/);
  assert.throws(() => torch.indexSelect(a, 1, torch.tensor([0.5])), /Long|int/i);
});
