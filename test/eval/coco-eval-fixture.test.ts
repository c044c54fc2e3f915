// COCOeval against pycocotools' own numbers on the shared fixture (every stat to 1e-12).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { cocoEval, loadResults, STAT_KEYS, type IouType } from '../../src/eval/index.ts';
import { fixturePath } from '../data/mask-fixture-path.ts';

const read = (name: string) => JSON.parse(readFileSync(fixturePath('coco', name), 'utf8'));
const gt = read('gt.json');
const refSegm = read('ref_res.json').segm;
const refBox = read('ref_res_bbox.json');

const cases: [string, IouType, Record<string, number>][] = [
  ['res.json', 'segm', refSegm],
  ['res_bbox.json', 'segm', refBox.segm],
  ['res_bbox.json', 'bbox', refBox.bbox],
];

for (const [file, iouType, ref] of cases) {
  test(`${file} evaluated as ${iouType} equals pycocotools on all 12 stats`, () => {
    const res = cocoEval(gt, loadResults(gt, read(file), file), iouType);
    assert.deepEqual(Object.keys(ref).sort(), [...STAT_KEYS].sort());
    for (const key of STAT_KEYS) {
      assert.ok(
        Math.abs(res.stats[key] - ref[key]) <= 1e-12,
        `${key}: got ${res.stats[key]}, want ${ref[key]}`,
      );
    }
    assert.equal(res.lines.length, 12);
    assert.ok(
      res.lines[0].startsWith(' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = '),
    );
  });
}

test('per-category AP averages back to the overall AP; categories without ground truth are -1', () => {
  const res = cocoEval(gt, loadResults(gt, read('res.json'), 'res.json'), 'segm');
  const withGt = new Set(gt.annotations.map((a: { category_id: number }) => a.category_id));
  for (const c of res.perCategory)
    assert.equal(c.AP === -1, !withGt.has(c.categoryId), `category ${c.categoryId}`);
  // A category is either defined at every (t, r) or nowhere, so the overall mean is the mean of the
  // defined categories' APs.
  const defined = res.perCategory.filter((c) => c.AP > -1);
  assert.ok(defined.length >= 3);
  const mean = defined.reduce((s, c) => s + c.AP, 0) / defined.length;
  assert.ok(Math.abs(mean - res.stats.AP) < 1e-12);
});
