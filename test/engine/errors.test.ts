// Every native entry point, called with junk, throws a JS error or returns: the process never crashes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { N } from '../../src/engine/native.ts';

// Calls that change process-wide state are left out; they are tested where they are used.
const SKIP = new Set([
  'NativeTensor',
  'setNumThreads',
  'emptyCache',
  'setCacheLimit',
  'manualSeed',
  'setGradEnabled',
  'scopeBegin',
  'scopeEnd',
]);

test('junk arguments to every native function give JS errors, not crashes', () => {
  const junk = (t: torch.Tensor): unknown[][] => [
    [],
    [undefined],
    [null],
    [{}],
    [t],
    [t, t],
    [t, 'x'],
    [t, 1e30],
    [t, -1, -1],
    [t, [1, 2], [3]],
    [1, 2, 3],
    ['...'],
    [t, [null, '...', [1, null, 0]]],
    [t, NaN, NaN, NaN],
    [t, t, t, t, t, t, t, t],
  ];
  let calls = 0;
  let threw = 0;
  for (const [name, fn] of Object.entries(N as unknown as Record<string, unknown>)) {
    if (typeof fn !== 'function' || SKIP.has(name)) continue;
    for (const args of junk(torch.ones([2, 3]))) {
      calls++;
      try {
        (fn as (...a: unknown[]) => unknown)(...args);
      } catch (e) {
        assert.ok(e instanceof Error, `${name} threw a non-Error`);
        threw++;
      }
    }
  }
  assert.ok(calls > 1000 && threw > calls / 2, `${threw} of ${calls} calls threw`);
});

test('impossible allocations and bad shapes throw', () => {
  assert.throws(() => torch.zeros([1e6, 1e6, 1e3]), /memory|alloc|overflow|size/i);
  assert.throws(() => torch.zeros([-1]), /non-negative/);
  assert.throws(() => torch.fromTypedArray(new Float32Array(5), [2, 2]), /buffer holds 20 bytes/);
  assert.throws(() => torch.ones([2, 2]).item(), /exactly one/);
  assert.throws(() => torch.ones([2]).reshape(3), /invalid for input of size 2/);
  assert.throws(() => torch.interpolate(torch.ones([1, 2]), { size: 4 }), /\[N, C, H, W\]/);
  assert.throws(() => new (N.NativeTensor as unknown as new () => object)(), /created by engine functions/);
});
