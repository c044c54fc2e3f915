// The optimised evaluator against a plain rendering of pycocotools' loops on random box cases with
// crowds, score ties, several images and categories, and more than 100 detections in one image.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Box } from '../../src/data/mask/index.ts';
import { cocoEval, loadResults, STAT_KEYS } from '../../src/eval/index.ts';
import { naiveStats, type NaiveDt, type NaiveGt } from './naive-cocoeval.ts';

const boxArb = fc
  .tuple(
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 1, max: 10 }),
    fc.integer({ min: 1, max: 10 }),
  )
  .map(([x, y, w, h]) => [x * 10, y * 10, w * 10, h * 10] as Box); // coarse grid: many equal IoUs

const caseArb = fc.record({
  nImages: fc.integer({ min: 1, max: 3 }),
  nCats: fc.integer({ min: 1, max: 3 }),
  gts: fc.array(
    fc.record({
      img: fc.nat(2),
      cat: fc.nat(2),
      box: boxArb,
      crowd: fc.boolean(),
      areaScale: fc.constantFrom(1, 0.5, 2),
    }),
    { maxLength: 12 },
  ),
  dts: fc.array(
    fc.record({ img: fc.nat(2), cat: fc.nat(2), box: boxArb, score: fc.integer({ min: 0, max: 4 }) }),
    { maxLength: 30 },
  ),
  flood: fc.boolean(),
});

test('random cases: every stat equals the plain pycocotools rendering exactly', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const imgIds = Array.from({ length: c.nImages }, (_, i) => 10 + i);
      const catIds = Array.from({ length: c.nCats }, (_, i) => 3 * i + 1);
      const gts: NaiveGt[] = c.gts.map((g, i) => ({
        id: i + 1,
        image_id: imgIds[g.img % c.nImages],
        category_id: catIds[g.cat % c.nCats],
        bbox: g.box,
        area: g.box[2] * g.box[3] * g.areaScale * (g.crowd ? 1 : 1),
        iscrowd: g.crowd && g.areaScale === 1 ? 1 : 0,
      }));
      const results = c.dts.map((d) => ({
        image_id: imgIds[d.img % c.nImages],
        category_id: catIds[d.cat % c.nCats],
        bbox: d.box,
        score: d.score / 4,
      }));
      // Over 100 detections in one image and category exercises the per-image cut.
      if (c.flood)
        for (let j = 0; j < 105; j++)
          results.push({
            image_id: imgIds[0],
            category_id: catIds[0],
            bbox: [j, 0, 20, 20],
            score: (j % 7) / 7,
          });
      const gt = {
        images: imgIds.map((id) => ({ id, width: 300, height: 300 })),
        categories: catIds.map((id) => ({ id })),
        annotations: gts,
      };
      const dts = loadResults(gt, results, 'dt.json');
      const got = cocoEval(gt, dts, 'bbox').stats;
      const want = naiveStats(
        imgIds,
        catIds,
        gts,
        dts.map((d): NaiveDt => ({ ...d })),
      );
      STAT_KEYS.forEach((k, i) => assert.equal(got[k], want[i], k));
    }),
    { numRuns: 150 },
  );
});
