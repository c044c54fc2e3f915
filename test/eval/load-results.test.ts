// Results are refused with a message naming the file, the index and the field; loadRes' rules apply.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../src/data/mask/index.ts';
import { loadResults } from '../../src/eval/index.ts';
import { makeGt } from './builders.ts';

const gt = makeGt([{ box: [0, 0, 20, 20] }], { size: 50 });
const rle = encode({ height: 50, width: 50, data: new Uint8Array(2500).fill(1) });
const good = { image_id: 1, category_id: 1, segmentation: rle, score: 0.5 };

function refused(raw: unknown, pattern: RegExp) {
  assert.throws(
    () => loadResults(gt, raw, 'dt.json'),
    (err: Error) => {
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('refuses a file that is not a list', () => {
  refused({ annotations: [] }, /^dt\.json: results must be a JSON list of detections, got an object/);
  refused('x', /dt\.json: results must be a JSON list/);
});

test('refuses unknown image and category ids, naming the index', () => {
  refused([good, { ...good, image_id: 7 }], /^dt\.json\[1\]: image_id 7 is not an image of the ground truth/);
  refused([{ ...good, category_id: 9 }], /^dt\.json\[0\] \(image_id 1\): category_id 9 is not a category/);
  refused([{ ...good, image_id: '1' }], /dt\.json\[0\]: image_id "1"/);
});

test('refuses missing or non-finite scores', () => {
  const { score: _s, ...noScore } = good;
  refused([good, noScore], /dt\.json\[1\] \(image_id 1\): score must be a finite number, got nothing/);
  refused([{ ...good, score: null }], /score must be a finite number, got null/);
});

test('refuses malformed RLE with the reason', () => {
  refused(
    [{ ...good, segmentation: { size: [50, 50], counts: 'abc~' } }],
    /dt\.json\[0\].*segmentation\.counts: invalid character "~"/,
  );
  refused(
    [{ ...good, segmentation: { size: [50, 50], counts: '0' } }],
    /run lengths sum to 0 but size 50x50 has 2500 pixels/,
  );
  refused(
    [{ ...good, segmentation: { size: [50], counts: '0' } }],
    /segmentation: size must be \[height, width\]/,
  );
  refused([{ ...good, segmentation: { size: [50, 50], counts: 'f' } }], /string ends inside run 0/);
  refused([{ ...good, segmentation: [[0, 0, 10, 0, 10, 10]] }], /must be compressed RLE .* got polygons/);
  refused(
    [{ ...good, segmentation: { size: [40, 40], counts: 'Pb1' } }],
    /segmentation size is 40x40 but the image is 50x50/,
  );
});

test('the first result decides: with a bbox first, every result needs a bbox', () => {
  refused(
    [{ ...good, bbox: [0, 0, 5, 5] }, good],
    /dt\.json\[1\] \(image_id 1\): bbox is missing \(the first result has a bbox/,
  );
  refused([{ ...good, bbox: [0, 0, -5, 5] }], /bbox width and height must be >= 0/);
  refused([{ ...good, bbox: [0, 0, 5] }], /bbox must be \[x, y, w, h\]/);
  refused(
    [{ image_id: 1, category_id: 1, score: 1 }],
    /dt\.json\[0\] \(image_id 1\): a detection needs a bbox or a segmentation/,
  );
  const { segmentation: _g, ...boxOnly } = { ...good, bbox: [0, 0, 5, 5] };
  refused([good, boxOnly], /dt\.json\[1\].*segmentation is missing/);
});

test('areas and boxes follow loadRes: mask area and tight box, or the box area', () => {
  const small = encode({
    height: 50,
    width: 50,
    data: Uint8Array.from({ length: 2500 }, (_, i) => (i === 51 ? 1 : 0)),
  });
  const [d] = loadResults(gt, [{ ...good, segmentation: small }], 'dt.json');
  assert.equal(d.area, 1);
  assert.deepEqual(d.bbox, [1, 1, 1, 1]);
  assert.equal(d.id, 1);
  const [b1, b2] = loadResults(
    gt,
    [
      { ...good, segmentation: small, bbox: [0, 0, 4, 5] },
      { ...good, bbox: [1, 1, 2, 3] },
    ],
    'dt.json',
  );
  assert.equal(b1.area, 20);
  assert.equal(b2.area, 6);
  assert.equal(b2.id, 2);
  assert.deepEqual(loadResults(gt, [], 'dt.json'), []);
});

test('fuzz: any JSON-like input loads or is refused with a message naming the file', async () => {
  const fc = (await import('fast-check')).default;
  const field = fc.oneof(fc.anything(), fc.integer({ min: 0, max: 3 }), fc.double());
  const det = fc.record(
    {
      image_id: field,
      category_id: field,
      score: field,
      bbox: fc.oneof(fc.anything(), fc.array(fc.double(), { maxLength: 5 })),
      segmentation: fc.oneof(fc.anything(), fc.record({ size: fc.constant([50, 50]), counts: fc.string() })),
    },
    { requiredKeys: [] },
  );
  fc.assert(
    fc.property(fc.oneof(fc.anything(), fc.array(fc.oneof(det, fc.anything()), { maxLength: 4 })), (raw) => {
      try {
        loadResults(gt, raw, 'dt.json');
      } catch (err) {
        assert.ok(err instanceof Error);
        assert.match(err.message, /^dt\.json(\[\d+\])?[: ]/);
      }
    }),
    { numRuns: 1500 },
  );
});
