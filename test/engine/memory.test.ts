// Memory: tidy scopes free what they create, dispose frees synchronously, and long runs keep resident
// memory flat (the caching allocator; GC finalizers that run synchronously).
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';

const rss = (): number => process.memoryUsage().rss;

test('tidy frees everything created inside except what it returns (also in arrays / objects)', () => {
  const before = torch.memory().liveTensors;
  const a = torch.ones([4]);
  const out = torch.tidy(() => {
    const b = a.add(1);
    const c = b.mul(2);
    c.sub(1);
    return { c, list: [b.neg()], n: 3 };
  });
  assert.equal(out.n, 3);
  assert.deepEqual(out.c.toArray(), [4, 4, 4, 4]);
  assert.deepEqual(out.list[0].toArray(), [-2, -2, -2, -2]);
  assert.equal(torch.memory().liveTensors, before + 3); // a, c, list[0]
  assert.ok(!a.isDisposed);
  // intermediates are gone: using one throws
  let leaked: Tensor | undefined;
  torch.tidy(() => {
    leaked = a.add(1);
  });
  assert.ok(leaked!.isDisposed);
  assert.throws(() => leaked!.add(1), /used after dispose/);
  torch.dispose([a, out]);
  assert.equal(torch.memory().liveTensors, before);
});

test('nested tidy: returned tensors move to the enclosing scope; keep() escapes all scopes', () => {
  const before = torch.memory().liveTensors;
  let inner: Tensor | undefined;
  let kept: Tensor | undefined;
  torch.tidy(() => {
    inner = torch.tidy(() => torch.ones([2]).mul(3));
    assert.ok(!inner.isDisposed);
    kept = torch.zeros([2]).keep();
  });
  assert.ok(inner!.isDisposed, 'freed by the outer scope');
  assert.ok(!kept!.isDisposed);
  kept!.dispose();
  assert.equal(torch.memory().liveTensors, before);
  // a throw inside tidy still frees
  assert.throws(() =>
    torch.tidy(() => {
      torch.ones([3]);
      throw new Error('inside');
    }),
  );
  assert.equal(torch.memory().liveTensors, before);
});

test('dispose returns memory to the allocator synchronously; views keep their storage alive', () => {
  const base = torch.memory().inUseBytes;
  const big = torch.zeros([1024, 1024]); // 4 MiB
  assert.ok(torch.memory().inUseBytes >= base + 4 * 1024 * 1024);
  const view = big.narrow(0, 0, 2);
  big.dispose();
  assert.ok(torch.memory().inUseBytes >= base + 4 * 1024 * 1024, 'the view still holds the storage');
  view.dispose();
  assert.ok(torch.memory().inUseBytes < base + 1024 * 1024);
});

test('100k small ops inside tidy scopes leave resident memory flat, even without yielding', () => {
  const a = torch.randn([16]);
  const b = torch.randn([16]);
  const chunk = (): void => {
    torch.tidy(() => {
      let x = a;
      for (let i = 0; i < 500; i++) x = x.add(b).mul(0.5);
    });
  };
  for (let i = 0; i < 40; i++) chunk();
  const live = torch.memory().liveTensors;
  const start = rss();
  // one synchronous loop: JS wrappers are finalised inside the GC, not on a later event-loop turn
  for (let i = 0; i < 100; i++) chunk(); // 1000 ops each
  const growth = rss() / start - 1;
  assert.equal(torch.memory().liveTensors, live);
  assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}% over 100k ops`);
  torch.dispose([a, b]);
});

test('1k steps of training a small MLP with SGD keep resident memory flat and learn', async () => {
  torch.manualSeed(0);
  // y = sum of the inputs' signs: a smooth enough target for a 2-layer MLP
  const x = torch.randn([64, 8]);
  const y = torch.tidy(() => x.sign().sum(1, true).mul(0.25));
  const w1 = torch.tidy(() => torch.randn([8, 32]).mul(0.3)).requiresGrad_();
  const b1 = torch.zeros([32], { requiresGrad: true });
  const w2 = torch.tidy(() => torch.randn([32, 1]).mul(0.3)).requiresGrad_();
  const params = [w1, b1, w2];
  const step = (): number =>
    torch.tidy(() => {
      const h = torch.gelu(x.matmul(w1).add(b1));
      const loss = torch.mseLoss(h.matmul(w2), y);
      loss.backward();
      torch.noGrad(() => {
        for (const p of params) p.sub_(p.grad!.mul(0.05));
      });
      torch.zeroGrad(params);
      return loss.item();
    });
  const first = step();
  for (let i = 0; i < 100; i++) {
    step();
    await turn();
  }
  const start = rss();
  const live = torch.memory().liveTensors;
  let last = first;
  for (let i = 0; i < 1000; i++) {
    last = step();
    await turn();
  }
  const growth = rss() / start - 1;
  assert.equal(torch.memory().liveTensors, live);
  assert.ok(growth < 0.1, `RSS grew ${(growth * 100).toFixed(1)}% over 1k steps`);
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
});

test('forgotten tensors are garbage-collected (their sizes are reported to V8), in a synchronous loop', () => {
  const before = torch.memory().liveTensors;
  const start = rss();
  for (let i = 0; i < 300; i++) {
    torch.zeros([1024, 1024]); // 4 MiB each, never disposed: 1.2 GB if nothing were collected
  }
  const alive = torch.memory().liveTensors - before;
  assert.ok(alive < 200, `${alive} of 300 forgotten tensors still alive`);
  assert.ok(rss() - start < 800e6, `RSS grew by ${((rss() - start) / 1e6).toFixed(0)} MB`);
});
