// `wish budget run` through the command line on a tiny synthetic set (shipped teacher, 2 iterations per
// point): the table and verdict on stdout, the files, the --json line; and a bad option named in the error.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../src/data/synth/index.ts';
import { TINY_MODEL } from './helpers.ts';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const wish = path.join(root, 'bin', 'wish.js');

test('wish budget run: table, files, JSON; a rerun skips; a bad --pairs is named', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-sweep-cli-'));
  await writeSynthDataset(path.join(dir, 'train'), {
    images: 8,
    seed: 7,
    size: 64,
    minInstances: 1,
    maxInstances: 2,
  });
  await writeSynthDataset(path.join(dir, 'val'), {
    images: 2,
    seed: 8,
    size: 64,
    minInstances: 1,
    maxInstances: 2,
  });
  const config = {
    model: TINY_MODEL,
    data: { prepared: 'ignored' },
    batchSize: 2,
    iterations: 2,
    loss: { numPoints: 128, matcher: { numPoints: 128 }, warmupIterations: 1 },
    threads: 1,
  };
  const cfg = path.join(dir, 'run.json');
  await writeFile(cfg, JSON.stringify(config));
  const out = path.join(dir, 'sweep');
  // budget 12 at 1,6,12: 12 tags / 1 box; steps 2: the two endpoints only.
  const args = [
    wish,
    'budget',
    'run',
    '--data',
    path.join(dir, 'train', ANNOTATIONS_FILE),
    '--val-data',
    path.join(dir, 'val', ANNOTATIONS_FILE),
    '--config',
    cfg,
    '--sam',
    path.join(root, 'models', 'teacher', 'teacher.safetensors'),
    '--sam-config',
    path.join(root, 'models', 'teacher', 'teacher.json'),
    '--budget',
    '8',
    '--pairs',
    'point-box',
    '--steps',
    '2',
    '--threads',
    '1',
    '--no-progress',
    '--out',
    out,
    '--json',
  ];
  const r = await run('node', args);
  assert.match(r.stdout, /## point-box\n\n\| step \| tag \| point \| box \| cost \| AP \| AP50 \| AP75 \|/);
  // round(8 / 6) = 1 point image, round(8 / 12) = 1 box image.
  assert.match(r.stdout, /\| 0 \| 0 \| 1 \| 0 \| 6 \| /);
  assert.match(r.stdout, /\| 1 \| 0 \| 0 \| 1 \| 12 \| /);
  assert.match(r.stdout, /point-box: no mixed point \(--steps 2\)/);
  assert.match(r.stdout, /2 points \(2 trained now, 0 done earlier\)/);
  assert.match(r.stderr, /budget run: point 1\/2 t0-p1-b0 \(1 point, cost 6\)/);
  const json = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.equal(json.pairs[0].rows.length, 2);
  for (const f of ['sweep.json', 'table.md', 'table.json', 'plot.png']) await stat(path.join(out, f));

  const again = await run('node', args);
  assert.match(again.stdout, /2 points \(0 trained now, 2 done earlier\)/);

  const bad = [...args];
  bad[bad.indexOf('point-box')] = 'point-cat';
  await assert.rejects(run('node', bad), (e: Error & { stderr: string; code: number }) => {
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /--pairs: "point-cat" is not a pair/);
    return true;
  });
});
