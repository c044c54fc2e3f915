// `wish train` then `wish predict --gt` end to end through the CLI on a tiny synthetic set (oracle teacher).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeWeakDataset } from '../../src/data/weak/index.ts';
import { syntheticSet, TINY_STUDENT } from './helpers.ts';

const run = promisify(execFile);
const wish = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wish.js');

test('wish train writes a checkpoint; wish predict turns it into COCO results', async () => {
  const set = await syntheticSet(4, { tag: 1, point: 1, box: 1, mask: 1 });
  await writeWeakDataset(path.join(set.dir, 'weak.json'), set.weak);
  const config = {
    model: TINY_STUDENT,
    data: {
      oracle: { weak: 'weak.json', groundTruth: 'annotations.json' },
      val: { annotations: 'annotations.json', images: '.' },
    },
    batchSize: 2,
    iterations: 2,
    loss: { numPoints: 128, matcher: { numPoints: 128 }, warmupIterations: 1 },
    threads: 1,
  };
  const cfgFile = path.join(set.dir, 'run.json');
  await writeFile(cfgFile, JSON.stringify(config));
  const out = path.join(set.dir, 'run');
  const t = await run('node', [wish, 'train', '--config', cfgFile, '--out', out]);
  assert.match(t.stdout, /iterations: 2\/2/);
  assert.match(t.stdout, /mask AP @ 2: /);
  assert.match(t.stdout, /matchLoss/);
  const pred = path.join(set.dir, 'pred');
  const p = await run('node', [
    wish,
    'predict',
    '--checkpoint',
    path.join(out, 'checkpoint.safetensors'),
    '--images',
    path.join(set.dir, 'images'),
    '--out',
    pred,
    '--gt',
    path.join(set.dir, 'annotations.json'),
    '--score-threshold',
    '0',
  ]);
  assert.match(p.stdout, /instances on 4 images/);
  const e = await run('node', [
    wish,
    'eval',
    '--gt',
    path.join(set.dir, 'annotations.json'),
    '--results',
    path.join(pred, 'results.json'),
    '--iou-type',
    'segm',
  ]);
  assert.match(e.stdout, /Average Precision/);
  const ids = JSON.parse(await readFile(path.join(pred, 'images.json'), 'utf8')) as { id: number }[];
  assert.deepEqual(
    ids.map((i) => i.id).sort((a, b) => a - b),
    set.gt.images.map((i) => i.id).sort((a, b) => a - b),
  );
  // A bad config names the key, through the CLI.
  await writeFile(cfgFile, JSON.stringify({ ...config, batchSize: -1 }));
  await assert.rejects(run('node', [wish, 'train', '--config', cfgFile, '--out', out]), /batchSize/);
});
