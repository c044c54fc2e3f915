// Fuzzing: random and mutated RLE strings and malformed objects never crash or hang; they either give
// a well-formed RLE or throw an Error whose message says where and what is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  annToRle,
  frPyObjectsRle,
  rleEncode,
  rleFromCoco,
  rleToCoco,
  type Rle,
} from '../../src/data/mask/index.ts';

function wellFormed(r: Rle) {
  let sum = 0;
  for (const c of r.counts) sum += c;
  assert.equal(sum, r.height * r.width);
}

/** Runs f; a thrown error must be an Error whose message starts with `where` and says something. */
function okOrClearError(f: () => Rle | Rle[], where: string) {
  let out: Rle | Rle[];
  try {
    out = f();
  } catch (err) {
    assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`);
    assert.ok(err.message.startsWith(where), `message without location: ${err.message}`);
    assert.ok(err.message.length > where.length + 10, `message says too little: ${err.message}`);
    return;
  }
  for (const r of Array.isArray(out) ? out : [out]) wellFormed(r);
}

const alphabet = fc.string({
  unit: fc.constantFrom(...'0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmno'),
  maxLength: 40,
});

test('random counts strings (any characters, or only codec characters) with random sizes', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 40 }), alphabet, fc.string({ unit: 'binary', maxLength: 20 })),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 30 }),
      (counts, h, w) => okOrClearError(() => rleFromCoco({ size: [h, w], counts }, 'seg'), 'seg'),
    ),
    { numRuns: 2000 },
  );
});

test('mutated valid strings: replaced, inserted and deleted characters', () => {
  const maskArb = fc
    .record({ h: fc.integer({ min: 1, max: 15 }), w: fc.integer({ min: 1, max: 15 }) })
    .chain(({ h, w }) =>
      fc
        .uint8Array({ minLength: h * w, maxLength: h * w, max: 1 })
        .map((data) => ({ height: h, width: w, data })),
    );
  const edit = fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('replace', 'insert', 'delete'),
    ch: fc.integer({ min: 0, max: 127 }),
  });
  fc.assert(
    fc.property(maskArb, fc.array(edit, { minLength: 1, maxLength: 3 }), (mask, edits) => {
      const rle = rleToCoco(rleEncode(mask));
      let s = rle.counts;
      for (const e of edits) {
        const at = s.length === 0 ? 0 : e.at % (s.length + 1);
        const c = String.fromCharCode(e.ch);
        if (e.kind === 'replace') s = s.slice(0, at) + c + s.slice(at + 1);
        else if (e.kind === 'insert') s = s.slice(0, at) + c + s.slice(at);
        else s = s.slice(0, at) + s.slice(at + 1);
      }
      okOrClearError(() => rleFromCoco({ size: rle.size, counts: s }, 'seg'), 'seg');
    }),
    { numRuns: 2000 },
  );
});

test('malformed segmentation objects of any shape', () => {
  const num = fc.oneof(fc.double(), fc.integer({ min: -50, max: 80 }), fc.constant(NaN), fc.constant(1e12));
  const segArb = fc.oneof(
    fc.anything(),
    fc.array(fc.array(num, { maxLength: 12 }), { maxLength: 3 }),
    fc.array(num, { maxLength: 12 }),
    fc.record({
      size: fc.anything(),
      counts: fc.oneof(
        fc.string(),
        fc.array(fc.integer({ min: -3, max: 900 }), { maxLength: 6 }),
        fc.anything(),
      ),
    }),
    fc.record({
      size: fc.tuple(fc.integer({ min: -1, max: 30 }), fc.integer({ min: -1, max: 30 })),
      counts: fc.array(fc.nat(300), { maxLength: 6 }),
    }),
  );
  fc.assert(
    fc.property(segArb, (seg) => {
      okOrClearError(() => annToRle(seg, 30, 30, 'seg'), 'seg');
      okOrClearError(() => frPyObjectsRle(seg, 30, 30, 'seg'), 'seg');
    }),
    { numRuns: 2000 },
  );
});

test('absurd polygon coordinates: refused beyond the C int range, rasterised quickly below it', () => {
  assert.throws(
    () => annToRle([[0, 0, 5e8, 0, 5e8, 10]], 10, 10, 'seg'),
    /seg\[0\]\[2\]: coordinate 500000000 is too large/,
  );
  assert.throws(
    () => annToRle([[0, 0, Infinity, 0, 4, 4]], 10, 10, 'seg'),
    /seg\[0\]\[2\]: coordinate must be a finite number/,
  );
  // A square far larger than the image covers all of it (pycocotools would walk 1.6e9 outline points).
  const huge = annToRle([[-4e7, -4e7, 4e7, -4e7, 4e7, 4e7, -4e7, 4e7]], 12, 9, 'seg');
  assert.deepEqual(Array.from(huge.counts), [0, 108]);
});
