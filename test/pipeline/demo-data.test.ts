// The demo's data stages: synthetic sets and weak labels are reused when their recorded settings match,
// refused (or replaced with force) when not; the budget buys all three label kinds and the counts agree
// with weaken's own summary; stale temp files of an interrupted run are removed, nothing else.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadWeakDataset } from '../../src/data/weak/index.ts';
import { ensureSynthSet, ensureWeakSet, kindCounts } from '../../src/pipeline/demo-data.ts';
import { removeStaleTemps } from '../../src/pipeline/demo.ts';

const costs = { tag: 1, point: 6, box: 12 };

test('synthetic sets: written once, reused with the same settings, refused with others unless force', async () => {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'wish-demo-data-')), 'train');
  const o = { images: 6, seed: 2, size: 48 };
  const a = await ensureSynthSet(dir, o);
  assert.equal(a.reused, false);
  const mtime = (await stat(a.annotations)).mtimeMs;
  const b = await ensureSynthSet(dir, o);
  assert.equal(b.reused, true);
  assert.equal((await stat(a.annotations)).mtimeMs, mtime);
  await assert.rejects(ensureSynthSet(dir, { ...o, seed: 3 }), /other settings.*--force/);
  const c = await ensureSynthSet(dir, { ...o, seed: 3 }, true);
  assert.equal(c.reused, false);
  const gt = JSON.parse(await readFile(c.annotations, 'utf8'));
  assert.equal(gt.info.generator.seed, 3);
  assert.equal(gt.images.length, 6);
});

test('weak labels under a budget: every kind present, counts as weaken reports them, reused after', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'wish-demo-data-'));
  const { annotations } = await ensureSynthSet(path.join(root, 'train'), { images: 20, seed: 4, size: 48 });
  const file = path.join(root, 'weak.json');
  // 10% / 30% / 60% of 100 units at 1:6:12: 10 tag, 5 point, 5 box images, cost 10 + 30 + 60.
  const o = { budget: 100, costs, mix: { tag: 0.1, point: 0.3, box: 0.6 }, seed: 1 };
  const w = await ensureWeakSet(file, annotations, o);
  assert.equal(w.reused, false);
  assert.deepEqual(w.requested, { tag: 10, point: 5, box: 5, mask: 0 });
  assert.deepEqual(w.counts.images, { tag: 10, point: 5, box: 5 });
  assert.equal(w.counts.cost, 100);
  const ds = await loadWeakDataset(file);
  // Hand count from the file: tags listed on tag images, annotations on point / box images.
  const kind = new Map(ds.images.map((im) => [im.id, im.label_type]));
  const tags = ds.images.reduce((s, im) => s + (im.tags?.length ?? 0), 0);
  const points = ds.annotations.filter((a) => kind.get(a.image_id) === 'point').length;
  const boxes = ds.annotations.filter((a) => kind.get(a.image_id) === 'box').length;
  assert.deepEqual(w.counts.labels, { tag: tags, point: points, box: boxes });
  assert.ok(points > 0 && boxes > 0 && tags > 0);
  assert.deepEqual(kindCounts(ds, costs), w.counts);
  // file_names were rebased from train/annotations.json's folder to weak.json's.
  assert.ok(ds.images.every((im) => im.file_name.startsWith('train/images/')));
  await stat(path.join(root, ds.images[0].file_name));
  const again = await ensureWeakSet(file, annotations, o);
  assert.equal(again.reused, true);
  assert.deepEqual(again.counts, w.counts);
  await assert.rejects(ensureWeakSet(file, annotations, { ...o, seed: 2 }), /other settings/);
  assert.equal((await ensureWeakSet(file, annotations, { ...o, seed: 2 }, true)).reused, false);
});

test('removeStaleTemps removes temp files and folders of other processes, nothing else', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-demo-tmp-'));
  await mkdir(path.join(dir, 'run', 'deep'), { recursive: true });
  await mkdir(path.join(dir, '.train.tmp-999999-17000'), { recursive: true });
  await mkdir(path.join(dir, '.val.old-999999-17000', 'images'), { recursive: true });
  const stale = [
    'result.json.tmp-999999-abc',
    'run/metrics.jsonl.tmp-999999',
    'run/deep/.checkpoint.safetensors.999999.0a1b2c3d.tmp',
    'run/.annotations.json.999999.1700000000.tmp',
  ];
  const keep = [
    'result.json',
    'run/metrics.jsonl',
    'run/deep/tmp.png',
    'run/deep/a.tmp',
    `run/x.tmp-${process.pid}`,
  ];
  for (const f of [...stale, ...keep]) await writeFile(path.join(dir, f), 'x');
  assert.equal(await removeStaleTemps(dir), stale.length + 2);
  const left = async (d: string): Promise<string[]> =>
    (await readdir(path.join(dir, d), { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
      .sort();
  assert.deepEqual(await left('.'), [...keep].sort());
});
