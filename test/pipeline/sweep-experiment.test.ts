// The sweep with the real runExperiment (prepare with the shipped teacher -> train -> eval) on a tiny
// synthetic set: tag-box in 2 steps (all tags, all boxes), 2 iterations each. Each point's result in
// sweep.json is its experiment's result.json; a rerun trains nothing.
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../src/data/synth/index.ts';
import { RESULT_FILE, runExperiment } from '../../src/pipeline/experiment.ts';
import { SWEEP_FILE, type SweepState } from '../../src/pipeline/sweep-state.ts';
import { POINTS_DIR, runSweep, type SweepOptions } from '../../src/pipeline/sweep.ts';
import { parseRunConfig } from '../../src/train/config.ts';
import { TINY_MODEL } from './helpers.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('real experiments: 2 points trained, results recorded, table written; a rerun trains nothing', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-sweep-real-'));
  await writeSynthDataset(path.join(dir, 'train'), {
    images: 14,
    seed: 5,
    size: 64,
    minInstances: 1,
    maxInstances: 3,
  });
  await writeSynthDataset(path.join(dir, 'val'), {
    images: 3,
    seed: 6,
    size: 64,
    minInstances: 1,
    maxInstances: 3,
  });
  const runConfig = parseRunConfig({
    model: TINY_MODEL,
    data: { prepared: '(replaced by the experiment)' },
    batchSize: 2,
    iterations: 2,
    optimizer: { lr: 1e-3 },
    loss: { numPoints: 128, matcher: { numPoints: 128 }, warmupIterations: 1 },
    evalEvery: 0,
    checkpointEvery: 0,
    threads: 1,
  });
  const logs: string[] = [];
  const o: SweepOptions = {
    data: path.join(dir, 'train', ANNOTATIONS_FILE),
    val: { annotations: path.join(dir, 'val', ANNOTATIONS_FILE), images: path.join(dir, 'val') },
    configFile: 'tiny.json',
    runConfig,
    sam: {
      checkpoint: path.join(repoRoot, 'models', 'teacher', 'teacher.safetensors'),
      config: path.join(repoRoot, 'models', 'teacher', 'teacher.json'),
    },
    // 12 tag images, or 1 box image (round(12 / 12)).
    budget: 12,
    costs: { tag: 1, point: 6, box: 12 },
    pairs: [['tag', 'box']],
    steps: 2,
    seed: 0,
    threads: 1,
    outDir: path.join(dir, 'sweep'),
    progress: false,
    log: (l) => logs.push(l),
  };
  const r = await runSweep(o, runExperiment);
  assert.deepEqual(r.ran, ['t12-p0-b0', 't0-p0-b1']);
  const state = JSON.parse(await readFile(path.join(o.outDir, SWEEP_FILE), 'utf8')) as SweepState;
  for (const name of r.ran) {
    const rec = state.points[name];
    assert.equal(rec.status, 'done');
    const stored = JSON.parse(await readFile(path.join(o.outDir, POINTS_DIR, name, RESULT_FILE), 'utf8'));
    assert.deepEqual(rec.result?.stats, stored.stats);
    assert.equal(rec.result?.iterations, 2);
    assert.ok(rec.result!.stats.AP >= 0 && rec.result!.stats.AP <= 1);
  }
  const rows = r.table.pairs[0].rows;
  assert.deepEqual(
    rows.map((x) => x.AP),
    r.ran.map((n) => state.points[n].result!.stats.AP),
  );
  assert.equal(r.table.pairs[0].verdict.outcome, 'no-mix');
  assert.ok(logs.some((l) => /point 1\/2 t12-p0-b0 \(12 tag, cost 12\)/.test(l)));

  const again = await runSweep({ ...o, log: () => {} }, runExperiment);
  assert.deepEqual(again.ran, []);
  assert.deepEqual(again.skipped, r.ran);
});
