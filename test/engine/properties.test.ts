// Property tests: broadcasting and slicing agree with plain-JS reference computations on random shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import * as torch from '../../src/engine/index.ts';

const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);

/** Row-major strides of a shape. */
function strides(s: number[]): number[] {
  const out = new Array<number>(s.length).fill(1);
  for (let i = s.length - 2; i >= 0; i--) out[i] = out[i + 1] * s[i + 1];
  return out;
}

/** Reference broadcast binary op over flat arrays. */
function broadcast(
  a: number[],
  as: number[],
  b: number[],
  bs: number[],
  f: (x: number, y: number) => number,
) {
  const nd = Math.max(as.length, bs.length);
  const pa = [...new Array(nd - as.length).fill(1), ...as];
  const pb = [...new Array(nd - bs.length).fill(1), ...bs];
  const os = pa.map((d, i) => Math.max(d, pb[i]));
  const [sa, sb, so] = [strides(pa), strides(pb), strides(os)];
  const out: number[] = [];
  for (let k = 0; k < numel(os); k++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < nd; d++) {
      const c = Math.floor(k / so[d]) % os[d];
      ia += (pa[d] === 1 ? 0 : c) * sa[d];
      ib += (pb[d] === 1 ? 0 : c) * sb[d];
    }
    out.push(f(a[ia], b[ib]));
  }
  return { out, shape: os };
}

// Two broadcast-compatible shapes: start from one shape, set some dims of the other to 1, drop leading dims.
const shapes = fc
  .array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 })
  .chain((s) =>
    fc.tuple(
      fc.constant(s),
      fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
      fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }),
      fc.integer({ min: 0, max: s.length }),
    ),
  )
  .map(([s, oneA, oneB, drop]) => [
    s.map((d, i) => (oneA[i] ? 1 : d)),
    s.map((d, i) => (oneB[i] ? 1 : d)).slice(drop),
  ]);

test('broadcast add / mul / maximum equal the reference on random compatible shapes', () => {
  fc.assert(
    fc.property(shapes, ([as, bs]) => {
      const a = Array.from({ length: numel(as) }, (_, i) => ((i * 7) % 11) - 5);
      const b = Array.from({ length: numel(bs) }, (_, i) => ((i * 5) % 7) - 3);
      const ta = torch.tensor(a).reshape(as);
      const tb = torch.tensor(b).reshape(bs);
      for (const [op, f] of [
        ['add', (x: number, y: number) => x + y],
        ['mul', (x: number, y: number) => x * y],
        ['maximum', Math.max],
      ] as const) {
        const ref = broadcast(a, as, b, bs, f);
        const got = op === 'add' ? ta.add(tb) : op === 'mul' ? ta.mul(tb) : ta.maximum(tb);
        assert.deepEqual(got.shape, ref.shape);
        assert.deepEqual(Array.from(got.toFloat32Array()), ref.out);
      }
      torch.dispose([ta, tb]);
    }),
    { numRuns: 150 },
  );
});

test('slice(start, end, step) along a dim equals Array filtering of the reference', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: -14, max: 14 }),
      fc.integer({ min: -14, max: 14 }),
      fc.integer({ min: 1, max: 4 }),
      (n, start, end, step) => {
        const t = torch.arange(n);
        const norm = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
        const expect: number[] = [];
        for (let i = norm(start); i < norm(end); i += step) expect.push(i);
        assert.deepEqual(t.slice(0, start, end, step).toArray(), expect);
        assert.deepEqual(t.index(torch.sl(start, end, step)).toArray(), expect);
      },
    ),
    { numRuns: 200 },
  );
});

test('sum over any dim subset equals the reference and keepdim keeps rank', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (shape, mask) => {
        const dims = shape.map((_, i) => i).filter((i) => (mask >> i) & 1);
        if (dims.length === 0) return;
        const vals = Array.from({ length: numel(shape) }, (_, i) => i % 5);
        const t = torch.tensor(vals).reshape(shape);
        const keep = t.sum(dims, true);
        assert.deepEqual(
          keep.shape,
          shape.map((d, i) => (dims.includes(i) ? 1 : d)),
        );
        assert.equal(
          t.sum(dims).sum().item(),
          vals.reduce((a, b) => a + b, 0),
        );
        assert.equal(t.sum(dims).ndim, shape.length - dims.length);
      },
    ),
    { numRuns: 100 },
  );
});
