// Properties of the mask API checked against brute force on decoded masks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  countsFromString,
  countsToString,
  rleArea,
  rleDecode,
  rleEncode,
  rleFromBox,
  rleFromPolygon,
  rleIou,
  rleMerge,
  rleToBbox,
  type BinaryMask,
} from '../../src/data/mask/index.ts';

const maskArb = (maxSide = 12) =>
  fc
    .record({ h: fc.integer({ min: 0, max: maxSide }), w: fc.integer({ min: 0, max: maxSide }) })
    .chain(({ h, w }) =>
      fc
        .uint8Array({ minLength: h * w, maxLength: h * w, max: 1 })
        .map((data): BinaryMask => ({ height: h, width: w, data })),
    );

const pairArb = fc
  .record({ h: fc.integer({ min: 1, max: 10 }), w: fc.integer({ min: 1, max: 10 }) })
  .chain(({ h, w }) => {
    const one = fc.uint8Array({ minLength: h * w, maxLength: h * w, max: 1 });
    return fc.tuple(one, one).map(([a, b]) => [
      { height: h, width: w, data: a },
      { height: h, width: w, data: b },
    ]);
  });

function bruteBbox(m: BinaryMask): number[] {
  let xs = Infinity;
  let ys = Infinity;
  let xe = -1;
  let ye = -1;
  for (let y = 0; y < m.height; y++)
    for (let x = 0; x < m.width; x++)
      if (m.data[y * m.width + x]) {
        xs = Math.min(xs, x);
        xe = Math.max(xe, x);
        ys = Math.min(ys, y);
        ye = Math.max(ye, y);
      }
  return xe < 0 ? [0, 0, 0, 0] : [xs, ys, xe - xs + 1, ye - ys + 1];
}

test('encode then decode gives the mask back; the string codec round-trips the runs', () => {
  fc.assert(
    fc.property(maskArb(), (m) => {
      const r = rleEncode(m);
      assert.deepEqual(rleDecode(r).data, m.data);
      assert.deepEqual(countsFromString(countsToString(r.counts)), r.counts);
      let sum = 0;
      for (const c of r.counts) sum += c;
      assert.equal(sum, m.height * m.width);
    }),
    { numRuns: 300 },
  );
});

test('the codec round-trips any uint32 run lengths, including zeros and huge values', () => {
  const count = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffffffff }));
  fc.assert(
    fc.property(fc.array(count, { maxLength: 30 }), (counts) => {
      const s = countsToString(counts);
      assert.match(s, /^[0-o]*$/);
      assert.deepEqual(Array.from(countsFromString(s)), counts);
    }),
    { numRuns: 500 },
  );
});

test('area and bbox computed on runs equal those of the decoded mask', () => {
  fc.assert(
    fc.property(maskArb(), (m) => {
      const r = rleEncode(m);
      assert.equal(
        rleArea(r),
        m.data.reduce((s, v) => s + v, 0),
      );
      assert.deepEqual(rleToBbox(r), bruteBbox(m));
    }),
    { numRuns: 300 },
  );
});

test('iou equals brute force, is symmetric without crowd, 1 on itself, and crowd divides by the detection', () => {
  fc.assert(
    fc.property(pairArb, ([a, b]) => {
      const ra = rleEncode(a);
      const rb = rleEncode(b);
      let inter = 0;
      let union = 0;
      let areaA = 0;
      for (let i = 0; i < a.data.length; i++) {
        inter += a.data[i] & b.data[i];
        union += a.data[i] | b.data[i];
        areaA += a.data[i];
      }
      const ab = rleIou([ra], [rb], [0])[0];
      const ba = rleIou([rb], [ra], [0])[0];
      assert.equal(ab, ba);
      assert.equal(ab, inter === 0 ? 0 : inter / union);
      assert.equal(rleIou([ra], [rb], [1])[0], inter === 0 ? 0 : inter / areaA);
      if (areaA > 0) assert.equal(rleIou([ra], [ra], [0])[0], 1);
    }),
    { numRuns: 300 },
  );
});

test('merge (union, intersection) equals encoding the brute-force combined mask', () => {
  fc.assert(
    fc.property(pairArb, fc.boolean(), ([a, b], intersect) => {
      const data = a.data.map((v, i) => (intersect ? v & b.data[i] : v | b.data[i]));
      const merged = rleMerge([rleEncode(a), rleEncode(b)], intersect);
      assert.deepEqual(merged.counts, rleEncode({ ...a, data }).counts);
    }),
    { numRuns: 300 },
  );
});

test('an integer box inside the image rasterises to exactly its pixel block', () => {
  const arb = fc
    .record({ h: fc.integer({ min: 1, max: 20 }), w: fc.integer({ min: 1, max: 20 }) })
    .chain(({ h, w }) =>
      fc.record({ x: fc.nat(w - 1), y: fc.nat(h - 1) }).chain(({ x, y }) =>
        fc.record({
          h: fc.constant(h),
          w: fc.constant(w),
          x: fc.constant(x),
          y: fc.constant(y),
          bw: fc.integer({ min: 1, max: w - x }),
          bh: fc.integer({ min: 1, max: h - y }),
        }),
      ),
    );
  fc.assert(
    fc.property(arb, ({ h, w, x, y, bw, bh }) => {
      const data = new Uint8Array(h * w);
      for (let yy = y; yy < y + bh; yy++) for (let xx = x; xx < x + bw; xx++) data[yy * w + xx] = 1;
      assert.deepEqual(
        rleFromBox([x, y, bw, bh], h, w).counts,
        rleEncode({ height: h, width: w, data }).counts,
      );
    }),
    { numRuns: 300 },
  );
});

test('a polygon rasterises the same whatever its starting vertex and direction', () => {
  const coord = fc.double({ min: -5, max: 35, noNaN: true });
  const arb = fc.record({
    pts: fc.array(fc.tuple(coord, coord), { minLength: 3, maxLength: 8 }),
    shift: fc.nat(),
  });
  fc.assert(
    fc.property(arb, ({ pts, shift }) => {
      const flat = (p: [number, number][]) => p.flat();
      const base = rleFromPolygon(flat(pts), 30, 25);
      const s = shift % pts.length;
      const rotated = [...pts.slice(s), ...pts.slice(0, s)];
      assert.deepEqual(rleFromPolygon(flat(rotated), 30, 25).counts, base.counts);
      assert.deepEqual(rleFromPolygon(flat([...pts].reverse()), 30, 25).counts, base.counts);
    }),
    { numRuns: 300 },
  );
});

test('the fast polygon rasteriser equals the literal point-by-point rendering of rleFrPoly', async () => {
  const { rleFromPolygonReference } = await import('./mask-polygon-reference.ts');
  // Coordinates well outside the image too, fractional and repeated vertices, tiny and thin shapes.
  const coord = fc.oneof(
    fc.double({ min: -30, max: 70, noNaN: true }),
    fc.integer({ min: -5, max: 45 }),
    fc.integer({ min: -20, max: 60 }).map((v) => v + 0.5),
    fc.integer({ min: -200, max: 200 }).map((v) => v / 5),
    fc.integer({ min: -3000, max: 3000 }).map((v) => v / 3), // far outside the image
  );
  const arb = fc.record({
    h: fc.integer({ min: 1, max: 40 }),
    w: fc.integer({ min: 1, max: 40 }),
    pts: fc.array(fc.tuple(coord, coord), { minLength: 1, maxLength: 10 }),
    repeat: fc.boolean(),
  });
  fc.assert(
    fc.property(arb, ({ h, w, pts, repeat }) => {
      const list = repeat ? [...pts, pts[0], pts[pts.length - 1]] : pts;
      const flat = list.flat();
      assert.deepEqual(rleFromPolygon(flat, h, w).counts, rleFromPolygonReference(flat, h, w).counts);
    }),
    { numRuns: 3000 },
  );
});
