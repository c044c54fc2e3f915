// numpy behaviours COCOeval depends on: linspace values, pairwise mean, '{:0.3f}' rounding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatFixed3, linspace, npMean } from '../../src/eval/numpy.ts';

test('linspace gives the thresholds numpy computes (0.35000000000000003, 0.8999999999999999)', () => {
  const rec = linspace(0, 1, 101);
  assert.equal(rec[35], 0.35000000000000003);
  assert.equal(rec[100], 1);
  const iou = linspace(0.5, 0.95, 10);
  assert.equal(iou[5], 0.75); // summarize() looks AP75 up by equality
  assert.equal(iou[8], 0.8999999999999999);
  assert.equal(iou[9], 0.95);
});

test('npMean equals np.mean (pairwise summation) on a deterministic series', () => {
  // Expected values printed by numpy 2.x for a[i] = 1/(i+1) + i*1e-3.
  const expected: [number, number][] = [
    [1, 1.0],
    [5, 0.45866666666666667],
    [8, 0.3432321428571429],
    [9, 0.3183298059964727],
    [16, 0.21879556207681206],
    [17, 0.2103266189788681],
    [127, 0.10571917002038721],
    [128, 0.10594646166085292],
    [129, 0.10617751186491217],
    [130, 0.10641224106358445],
    [1000, 0.5069854708605503],
    [8193, 4.097170305395033],
    [20000, 10.000024036410862],
    [30303, 15.1513595760869],
  ];
  let naiveDiffers = 0;
  for (const [n, mean] of expected) {
    const a = Float64Array.from({ length: n }, (_, i) => 1 / (i + 1) + i * 1e-3);
    assert.equal(npMean(a), mean, `n=${n}`);
    if (a.reduce((s, x) => s + x, 0) / n !== mean) naiveDiffers++;
  }
  assert.ok(naiveDiffers > 0, 'the series should tell pairwise from naive summation apart');
});

test("formatFixed3 rounds like Python's format (exact ties to even)", () => {
  assert.equal(formatFixed3(0.0625), '0.062');
  assert.equal(formatFixed3(0.1875), '0.188');
  assert.equal(formatFixed3(-0.0625), '-0.062');
  assert.equal(formatFixed3(0.3745), '0.374'); // 0.3745 is below the tie in binary
  assert.equal(formatFixed3(-1), '-1.000');
  assert.equal(formatFixed3(0.37284954538792564), '0.373');
});

test('stableOrderDesc: descending, ties in original order, equal to a stable comparator sort', async () => {
  const { stableOrderDesc } = await import('../../src/eval/stable-order.ts');
  const fc = (await import('fast-check')).default;
  assert.deepEqual(
    Array.from(stableOrderDesc(Float64Array.of(0.5, 0.9, 0.5, -0, 0, 0.9))),
    [1, 5, 0, 2, 3, 4],
  );
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true })), { maxLength: 60 }),
      (xs) => {
        const s = Float64Array.from(xs);
        const want = xs.map((_, i) => i).sort((x, y) => s[y] - s[x] || x - y);
        assert.deepEqual(Array.from(stableOrderDesc(s)), want);
      },
    ),
    { numRuns: 300 },
  );
});
