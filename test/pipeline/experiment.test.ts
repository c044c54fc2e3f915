// runExperiment on a tiny synthetic set with the shipped teacher: result.json holds what it says, a second
// call returns it without training, an interrupted experiment resumes to the uninterrupted result, a folder
// of other inputs is refused (or started over with force), and named model configs take the teacher's width.
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { STAT_KEYS } from '../../src/eval/types.ts';
import {
  evaluateCheckpoint,
  experimentConfig,
  ExperimentStopped,
  PREPARED_DIR,
  RESULT_FILE,
  RUN_DIR,
  runExperiment,
  type ExperimentOptions,
  type ExperimentResult,
} from '../../src/pipeline/experiment.ts';
import { STATE_FILE } from '../../src/pipeline/experiment-state.ts';
import { checkpointIteration } from '../../src/pipeline/run-records.ts';
import { parseRunConfig } from '../../src/train/config.ts';
import { loadValSet } from '../../src/train/evaluate.ts';
import { CHECKPOINT_FILE, CURVES_FILE, METRICS_FILE } from '../../src/train/trainer.ts';
import { teacher, tinyExperimentData, tinyRunConfig } from './helpers.ts';

let data: Awaited<ReturnType<typeof tinyExperimentData>>;
let first: ExperimentResult;
const logs: string[] = [];

const options = (outName: string, over: Partial<ExperimentOptions> = {}): ExperimentOptions => ({
  weak: data.weak,
  images: data.images,
  sam: teacher,
  runConfig: tinyRunConfig(),
  val: data.val,
  outDir: path.join(data.dir, outName),
  threads: 1,
  progress: false,
  log: (l) => logs.push(l),
  ...over,
});

const trainIterations = async (outName: string): Promise<number[]> =>
  (await readFile(path.join(data.dir, outName, RUN_DIR, METRICS_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string; iteration: number })
    .filter((l) => l.kind === 'train')
    .map((l) => l.iteration);

before(async () => {
  data = await tinyExperimentData();
  first = await runExperiment(options('a'));
});

test('result.json: the 12 stats, iterations, prepare counts, time breakdown, checkpoint', async () => {
  const out = path.join(data.dir, 'a');
  const stored = JSON.parse(await readFile(path.join(out, RESULT_FILE), 'utf8'));
  assert.deepEqual(Object.keys(first.stats).sort(), [...STAT_KEYS].sort());
  for (const k of STAT_KEYS) {
    assert.equal(typeof first.stats[k], 'number');
    assert.ok(first.stats[k] >= -1 && first.stats[k] <= 1, `${k} = ${first.stats[k]}`);
    assert.equal(stored.stats[k], first.stats[k]);
  }
  assert.equal(first.iterations, 3);
  assert.equal(await checkpointIteration(first.checkpoint), 3);
  assert.equal(first.checkpoint, path.join(out, RUN_DIR, CHECKPOINT_FILE));
  // 4 point + 4 box images; every instance of them got one label (synth masks are never empty).
  const weak = JSON.parse(await readFile(data.weak, 'utf8'));
  assert.equal(first.prepare.images, 8);
  assert.equal(first.prepare.labels, weak.annotations.length);
  assert.equal(first.labels?.tagImages, 4);
  assert.equal(first.promptDim, 64);
  // The breakdown's shares sum to 1 and the means to the total.
  const share = Object.values(first.times.share).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(share - 1) < 1e-9, `shares sum to ${share}`);
  const mean = Object.values(first.times.meanMs).reduce((s, v) => s + v, 0);
  assert.ok(Math.abs(mean - first.times.totalMs) < 1e-6);
  const st = first.secondsByStage!;
  assert.ok(Math.abs(st.prepare + st.train + st.eval - first.seconds) < 1e-9);
  assert.ok(first.prepare.seconds > 0 && st.train > 0);
  assert.equal(stored.inputs.weak.path, data.weak);
  // The folder holds the documented parts, and no temp file is left over.
  const names = (await readdir(out)).sort();
  assert.deepEqual(names, [STATE_FILE, PREPARED_DIR, RESULT_FILE, RUN_DIR].sort());
  for (const sub of [RUN_DIR, PREPARED_DIR])
    for (const n of await readdir(path.join(out, sub))) assert.doesNotMatch(n, /tmp/, `${sub}/${n}`);
});

test('a second call with the same inputs returns result.json without training again', async () => {
  const ckpt = path.join(data.dir, 'a', RUN_DIR, CHECKPOINT_FILE);
  const before = (await stat(ckpt)).mtimeMs;
  const n = logs.length;
  const again = await runExperiment(options('a'));
  assert.deepEqual(again, first);
  assert.equal((await stat(ckpt)).mtimeMs, before);
  assert.match(logs.slice(n).join('\n'), /up to date/);
  assert.doesNotMatch(logs.slice(n).join('\n'), /^train:/m);
});

test('an interrupted experiment resumes and ends where the uninterrupted one did', async () => {
  await assert.rejects(runExperiment(options('b', { stopAfter: 2 })), (e: unknown) => {
    assert.ok(e instanceof ExperimentStopped);
    assert.equal(e.iteration, 2);
    assert.equal(e.iterations, 3);
    return true;
  });
  assert.equal(await checkpointIteration(path.join(data.dir, 'b', RUN_DIR, CHECKPOINT_FILE)), 2);
  await assert.rejects(stat(path.join(data.dir, 'b', RESULT_FILE)), { code: 'ENOENT' });
  const n = logs.length;
  const resumed = await runExperiment(options('b'));
  assert.match(logs.slice(n).join('\n'), /resuming at iteration 2 of 3/);
  assert.equal(resumed.iterations, 3);
  // Exact resume on CPU: the same final weights, hence the same evaluation.
  assert.deepEqual(resumed.stats, first.stats);
  assert.deepEqual(await trainIterations('b'), [1, 2, 3]);
  // The fallback evaluation (used when the trainer's final one is missing) scores the checkpoint the same.
  const ev = await evaluateCheckpoint(
    resumed.checkpoint,
    await loadValSet(data.val.annotations, data.val.images),
  );
  assert.deepEqual(ev.stats, resumed.stats);
  // Killed after the final checkpoint but before the trainer's final eval and curves: the next call
  // evaluates the checkpoint itself, redraws the curves, and does not train.
  const run = path.join(data.dir, 'b', RUN_DIR);
  const ckptTime = (await stat(resumed.checkpoint)).mtimeMs;
  const metricsFile = path.join(run, METRICS_FILE);
  const kept = (await readFile(metricsFile, 'utf8')).split('\n').filter((l) => !l.includes('"kind":"eval"'));
  await writeFile(metricsFile, kept.join('\n'));
  await rm(path.join(run, CURVES_FILE));
  await rm(path.join(data.dir, 'b', RESULT_FILE));
  const n2 = logs.length;
  const after = await runExperiment(options('b'));
  assert.match(logs.slice(n2).join('\n'), /^eval: /m);
  assert.doesNotMatch(logs.slice(n2).join('\n'), /^train: \d+ iterations/m);
  assert.deepEqual(after.stats, resumed.stats);
  assert.ok((after.val?.detections ?? 0) > 0);
  assert.equal((await stat(resumed.checkpoint)).mtimeMs, ckptTime);
  assert.ok((await stat(path.join(run, CURVES_FILE))).size > 0);
  // The seconds of both calls are counted.
  assert.ok(resumed.secondsByStage!.train > 0);
});

test('an aborted signal (Ctrl-C) stops before any work, and the folder continues later', async () => {
  const ctrl = new AbortController();
  ctrl.abort();
  await assert.rejects(runExperiment(options('c', { signal: ctrl.signal })), (e: unknown) => {
    assert.ok(e instanceof ExperimentStopped);
    assert.equal(e.iteration, 0);
    return true;
  });
  await assert.rejects(stat(path.join(data.dir, 'c', PREPARED_DIR)), { code: 'ENOENT' });
  await assert.rejects(stat(path.join(data.dir, 'c', RUN_DIR)), { code: 'ENOENT' });
  const r = await runExperiment(options('c'));
  assert.deepEqual(r.stats, first.stats);
});

test('other inputs in the same folder are refused; force starts over', async () => {
  const other = tinyRunConfig({ iterations: 2 });
  await assert.rejects(runExperiment(options('a', { runConfig: other })), /other inputs.*force/s);
  const r = await runExperiment(options('a', { runConfig: other, force: true }));
  assert.equal(r.iterations, 2);
  assert.deepEqual(await trainIterations('a'), [1, 2]);
});

test('a named model config takes the teacher prompt width; a full one keeps its own', () => {
  const paths = { prepared: '/p', val: { annotations: '/v.json', images: '/v' }, valLimit: 5 };
  const named = parseRunConfig({ model: 'cpu-small', data: { prepared: 'x' }, batchSize: 8, iterations: 10 });
  assert.equal(named.model.promptDim, 256);
  const c = experimentConfig(named, { ...paths, teacherPromptDim: 64, threads: 1 });
  assert.equal(c.model.promptDim, 64);
  assert.equal(c.model.inputSize, named.model.inputSize);
  assert.deepEqual(c.data.val, paths.val);
  assert.equal(c.data.prepared, '/p');
  assert.equal(c.data.valLimit, 5);
  assert.equal(c.threads, 1);
  const full = tinyRunConfig({ model: { ...(tinyRunConfig().modelSource as object), promptDim: 32 } });
  assert.equal(experimentConfig(full, { ...paths, teacherPromptDim: 64 }).model.promptDim, 32);
});
