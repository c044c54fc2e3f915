// FastLinear (large products as a oneDNN 1x1 conv) computes what Linear computes, for every row-count
// case it takes (small: plain GEMM; divisible by 16: batch-16 view; otherwise batch 1), with gradients.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { FastLinear } from '../../src/sam/fast-linear.ts';
import { maxAbsDiff } from './fixture.ts';

test('FastLinear equals x W^T + b for 2-D and 3-D inputs of any row count', () => {
  torch.manualSeed(11);
  const lin = new FastLinear(24, 10);
  torch.tidy(() => {
    for (const shape of [
      [5, 24],
      [3, 160, 24],
      [1, 131, 24],
      [2, 7, 9, 24],
    ]) {
      const x = torch.randn(shape);
      const want = x.matmul(lin.weight.t()).add(lin.bias!);
      const got = lin.forward(x);
      assert.deepEqual(got.shape, [...shape.slice(0, -1), 10]);
      assert.ok(maxAbsDiff(got.toFloat32Array(), want.toFloat32Array()) < 1e-5, `shape [${shape}]`);
    }
    // a non-contiguous input (transposed) goes through the same path
    const xt = torch.randn([24, 256]).t();
    assert.ok(
      maxAbsDiff(
        lin.forward(xt).toFloat32Array(),
        xt.matmul(lin.weight.t()).add(lin.bias!).toFloat32Array(),
      ) < 1e-5,
    );
  });
  const keys = Object.keys(lin.stateDict());
  assert.deepEqual(keys, ['weight', 'bias']);
  lin.dispose();
});

test('FastLinear passes gradients to its weight and input like Linear', () => {
  torch.manualSeed(12);
  const lin = new FastLinear(8, 4);
  const x = torch.randn([2, 128, 8], { requiresGrad: true });
  lin.forward(x).square().sum().backward();
  const gw = lin.weight.grad!.toFloat32Array();
  const gx = x.grad!.toFloat32Array();
  torch.zeroGrad([lin.weight, lin.bias!, x]);
  torch.linear(x, lin.weight, lin.bias).square().sum().backward();
  assert.ok(maxAbsDiff(gw, lin.weight.grad!.toFloat32Array()) < 1e-3);
  assert.ok(maxAbsDiff(gx, x.grad!.toFloat32Array()) < 1e-4);
  lin.dispose();
});
