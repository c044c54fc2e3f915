// The experiment's identity and time bookkeeping: the inputs hash follows content (not paths or thread
// counts), and the stage clock adds each call's seconds to the stored ones and saves them atomically.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  experimentInputs,
  StageClock,
  type ExperimentState,
  type Stage,
} from '../../src/pipeline/experiment-state.ts';
import { teacher, tinyRunConfig } from './helpers.ts';

test('the inputs hash follows the bytes and the training settings, not paths or threads', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-inputs-'));
  const weak = path.join(dir, 'weak.json');
  const val = path.join(dir, 'val.json');
  await writeFile(weak, '{"images":[]}');
  await writeFile(val, '{"images":[1]}');
  const base = {
    weak,
    images: dir,
    checkpoint: teacher.checkpoint,
    samConfig: teacher.config,
    val: { annotations: val, images: dir, limit: 0 },
    runConfig: tinyRunConfig(),
  };
  const h = (await experimentInputs(base)).hash;
  assert.match(h, /^[0-9a-f]{64}$/);
  // Same bytes elsewhere, other threads: the same experiment.
  const moved = path.join(dir, 'moved.json');
  await copyFile(weak, moved);
  assert.equal((await experimentInputs({ ...base, weak: moved, images: '/elsewhere' })).hash, h);
  assert.equal((await experimentInputs({ ...base, runConfig: tinyRunConfig({ threads: 2 }) })).hash, h);
  // Other labels, schedule, val limit or val set: another experiment.
  await writeFile(moved, '{"images":[2]}');
  const others = [
    { ...base, weak: moved },
    { ...base, runConfig: tinyRunConfig({ iterations: 4 }) },
    { ...base, val: { ...base.val, limit: 3 } },
    { ...base, val: { ...base.val, annotations: weak } },
    { ...base, samConfig: null },
  ];
  for (const o of others) assert.notEqual((await experimentInputs(o)).hash, h);
});

test('the stage clock adds this call to the stored seconds and saves them atomically', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-clock-'));
  const file = path.join(dir, 'experiment.json');
  const state: ExperimentState = {
    format: 'wish.experiment/1',
    inputsHash: 'x',
    seconds: { prepare: 5, train: 7, eval: 0 },
  };
  const clock = new StageClock<Stage, ExperimentState>(file, state);
  const value = await clock.time('train', async () => {
    await new Promise((r) => setTimeout(r, 20));
    assert.throws(() => clock.begin('eval'), /train is still running/);
    return 42;
  });
  assert.equal(value, 42);
  const saved = JSON.parse(await readFile(file, 'utf8')) as ExperimentState;
  assert.equal(saved.seconds.prepare, 5);
  assert.ok(saved.seconds.train > 7, `train ${saved.seconds.train}`);
  assert.equal(saved.seconds.eval, 0);
  assert.deepEqual(saved, clock.snapshot());
  // A failing stage still counts its time, and the error passes through.
  await assert.rejects(
    clock.time('eval', async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  const afterFailure = JSON.parse(await readFile(file, 'utf8')) as ExperimentState;
  assert.deepEqual(afterFailure, clock.snapshot());
  assert.equal(afterFailure.seconds.train, saved.seconds.train);
  assert.deepEqual(await readdir(dir), ['experiment.json']);
});
