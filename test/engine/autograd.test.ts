// Autograd: gradients against known derivatives and central finite differences, grad modes,
// zeroing and clipping.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';

// A call, not a property read, so TypeScript does not narrow .grad across assertions.
const gradOf = (t: Tensor): Tensor | null => t.grad;

test('backward of x^2 summed gives 2x; backward with an explicit gradient', () => {
  const x = torch.tensor([1, -2, 3], { requiresGrad: true });
  assert.ok(x.requiresGrad && x.isLeaf);
  x.mul(x).sum().backward();
  assert.deepEqual(x.grad?.toArray(), [2, -4, 6]);
  // gradients accumulate until zeroed
  x.mul(3).sum().backward();
  assert.deepEqual(x.grad?.toArray(), [5, -1, 9]);
  torch.zeroGrad([x]);
  assert.equal(gradOf(x), null);
  const y = x.mul(2); // non-scalar: needs a gradient
  assert.throws(() => y.backward(), /gradient is needed/);
  y.backward(torch.tensor([1, 0, 10]));
  assert.deepEqual(x.grad?.toArray(), [2, 0, 20]);
  torch.zeroGrad([x], false);
  assert.deepEqual(x.grad?.toArray(), [0, 0, 0]);
});

test('gradients of a small conv / gelu / layerNorm / crossEntropy net match finite differences', () => {
  torch.manualSeed(1);
  const opts = { dtype: 'float64' as const };
  const x = torch.randn([2, 2, 5, 5], opts);
  const w = torch.randn([3, 2, 3, 3], opts).mul(0.3).requiresGrad_();
  const g = torch.randn([3], opts).requiresGrad_();
  const target = torch.tensor([1, 2], { dtype: 'int64' });
  const f = (): Tensor => {
    const h = torch.gelu(torch.conv2d(x, w, null, { padding: 1 })); // [2, 3, 5, 5]
    const pooled = h.mean([2, 3]); // [2, 3]
    const n = torch.layerNorm(pooled, [3], g, null);
    return torch.crossEntropy(n, target, { weight: torch.tensor([1, 2, 0.5], opts) });
  };
  f().backward();
  const wGrad = w.grad!.toTypedArray() as Float64Array;
  const gGrad = g.grad!.toTypedArray() as Float64Array;
  const eps = 1e-6;
  const check = (p: Tensor, analytic: Float64Array, picks: number[]): void => {
    const flat = p.detach().view(-1);
    for (const i of picks) {
      const orig = flat.index(i).item();
      torch.noGrad(() => flat.indexPut_([i], orig + eps));
      const up = torch.noGrad(() => f().item());
      torch.noGrad(() => flat.indexPut_([i], orig - eps));
      const down = torch.noGrad(() => f().item());
      torch.noGrad(() => flat.indexPut_([i], orig));
      const numeric = (up - down) / (2 * eps);
      assert.ok(
        Math.abs(numeric - analytic[i]) < 1e-6 * (1 + Math.abs(numeric)),
        `grad[${i}]: ${analytic[i]} vs ${numeric}`,
      );
    }
  };
  check(w, wGrad, [0, 7, 20, 53]);
  check(g, gGrad, [0, 1, 2]);
});

test('interpolate, gridSample and attention backward match finite differences', () => {
  torch.manualSeed(2);
  const opts = { dtype: 'float64' as const };
  const img = torch.randn([1, 1, 3, 4], opts).requiresGrad_();
  const grid = torch.rand([1, 2, 2, 2], opts).mul(1.6).sub(0.8);
  const q = torch.randn([1, 3, 4], opts);
  const k = torch.randn([1, 5, 4], opts);
  const f = (): Tensor => {
    const up = torch.interpolate(img, { size: [5, 6], mode: 'bilinear', alignCorners: false });
    const s = torch.gridSample(img, grid, { alignCorners: true }).sum();
    const v = up.reshape(1, 5, 6);
    return torch.scaledDotProductAttention(q, k, v).square().sum().add(s);
  };
  f().backward();
  const analytic = img.grad!.toTypedArray() as Float64Array;
  const flat = img.detach().view(-1);
  for (let i = 0; i < 12; i += 3) {
    const orig = flat.index(i).item();
    torch.noGrad(() => flat.indexPut_([i], orig + 1e-6));
    const up = torch.noGrad(() => f().item());
    torch.noGrad(() => flat.indexPut_([i], orig - 1e-6));
    const down = torch.noGrad(() => f().item());
    torch.noGrad(() => flat.indexPut_([i], orig));
    const numeric = (up - down) / 2e-6;
    assert.ok(
      Math.abs(numeric - analytic[i]) < 1e-5 * (1 + Math.abs(numeric)),
      `img.grad[${i}]: ${analytic[i]} vs ${numeric}`,
    );
  }
});

test('noGrad, detach, enableGrad, requiresGrad errors', () => {
  const x = torch.ones([2], { requiresGrad: true });
  const y = torch.noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(torch.isGradEnabled(), true);
  assert.equal(x.mul(2).detach().requiresGrad, false);
  const z = torch.noGrad(() => torch.enableGrad(() => x.mul(2)));
  assert.equal(z.requiresGrad, true);
  assert.throws(() => torch.ones([1]).backward(), /does not require grad/);
  assert.throws(
    () =>
      torch.noGrad(() => {
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(torch.isGradEnabled(), true, 'grad mode restored after a throw');
  assert.throws(() => torch.arange(3).requiresGrad_(), /floating point|complex/);
});

test('clipGradNorm scales gradients to the global norm; autograd grad()', () => {
  const a = torch.tensor([3], { requiresGrad: true });
  const b = torch.tensor([4], { requiresGrad: true });
  a.mul(a).div(2).sum().add(b.mul(b).div(2).sum()).backward(); // grads 3 and 4: norm 5
  const total = torch.clipGradNorm([a, b], 1);
  assert.ok(Math.abs(total.item() - 5) < 1e-6);
  assert.ok(Math.abs(a.grad!.item() - 0.6) < 1e-5);
  assert.ok(Math.abs(b.grad!.item() - 0.8) < 1e-5);
  // below the limit: untouched
  assert.ok(Math.abs(torch.clipGradNorm([a, b], 10).item() - 1) < 1e-5);
  assert.ok(Math.abs(a.grad!.item() - 0.6) < 1e-5);
  const x = torch.tensor([2], { requiresGrad: true });
  const [gx] = torch.grad(x.pow(3).sum(), x, { createGraph: true });
  assert.equal(gx!.item(), 12); // 3 x^2
  const [ggx] = torch.grad(gx!.sum(), x);
  assert.equal(ggx!.item(), 12); // 6 x
  assert.equal(gradOf(x), null);
});

test('setting .grad and retainGrad', () => {
  const p = torch.zeros([2], { requiresGrad: true });
  p.grad = torch.ones([2]);
  assert.deepEqual(p.grad?.toArray(), [1, 1]);
  assert.throws(() => (p.grad = torch.ones([3])), /shape/);
  const h = p.mul(2).retainGrad();
  h.sum().backward();
  assert.deepEqual(h.grad?.toArray(), [1, 1]);
  p.grad = null;
  assert.equal(gradOf(p), null);
});
