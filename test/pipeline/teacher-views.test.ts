// The demo's view of the teacher: mask IoU on hand-made masks, the top-ranked candidate, and the per-kind
// scores and drawings on a tiny prepared set.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { encode } from '../../src/data/mask/index.ts';
import { runPrepare } from '../../src/method/prepare/prepare.ts';
import type { PreparedLabel } from '../../src/method/prepare/types.ts';
import { maskIou, teacherViews, topRanked } from '../../src/pipeline/teacher-views.ts';
import { teacher, tinyExperimentData } from './helpers.ts';

const mask = (rows: string[]) => ({
  height: rows.length,
  width: rows[0].length,
  data: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)),
});

test('maskIou: intersection over union, by hand', () => {
  const a = mask(['##..', '##..', '....']);
  const b = mask(['.##.', '.##.', '.##.']);
  // intersection 2 (column 1, rows 0-1), union 4 + 6 - 2 = 8
  assert.equal(maskIou(a, b), 2 / 8);
  assert.equal(maskIou(a, a), 1);
  assert.equal(maskIou(mask(['....']), mask(['....'])), 0);
  assert.throws(() => maskIou(a, mask(['#'])), /sizes differ/);
});

test('topRanked takes the candidate with the highest predicted IoU', () => {
  const m = [mask(['#...', '....']), mask(['##..', '.#..']), mask(['###.', '###.'])];
  const rle = m.map(encode);
  const label = { iou: [0.2, 0.9, 0.5], masks: rle } as unknown as PreparedLabel;
  assert.deepEqual(topRanked(label).data, m[1].data);
});

test('teacherViews scores every prepared label and draws one scene per kind', async () => {
  const data = await tinyExperimentData();
  const preparedDir = path.join(data.dir, 'prepared');
  await runPrepare({
    data: data.weak,
    images: data.images,
    sam: teacher.checkpoint,
    samConfig: teacher.config,
    out: preparedDir,
    threads: 1,
    progress: false,
  });
  const outDir = path.join(data.dir, 'views');
  const r = await teacherViews({
    preparedDir,
    groundTruth: path.join(data.images, 'annotations.json'),
    outDir,
    perKind: 1,
  });
  const weak = JSON.parse(await readFile(data.weak, 'utf8'));
  const kind = new Map(weak.images.map((im: { id: number; label_type: string }) => [im.id, im.label_type]));
  const count = (k: string) =>
    weak.annotations.filter((a: { image_id: number }) => kind.get(a.image_id) === k).length;
  assert.equal(r.iou.point.labels, count('point'));
  assert.equal(r.iou.box.labels, count('box'));
  for (const k of ['point', 'box'] as const) {
    assert.ok(r.iou[k].meanIou > 0 && r.iou[k].meanIou <= 1, `${k}: ${r.iou[k].meanIou}`);
  }
  assert.deepEqual(r.views.map((v) => v.kind).sort(), ['box', 'point']);
  for (const v of r.views) {
    assert.ok((await stat(v.teacher)).size > 0);
    assert.ok((await stat(v.truth)).size > 0);
    assert.equal(path.dirname(v.teacher), outDir);
  }
});
