// Backbone pretraining on synthetic tags: AP by hand, scene batches carry their scenes' tags, a short run
// writes weights the student loads (and resumes after an abort), bad weight files are named.
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import { loadSafetensors, saveSafetensors } from '../../src/engine/io/checkpoint.ts';
import { generateScene, mix32 } from '../../src/data/synth/index.ts';
import { buildModel } from '../../src/model/build.ts';
import { cpuSmall } from '../../src/model/configs.ts';
import { averagePrecision, pretrainBackbone, sceneBatch } from '../../src/train/pretrain.ts';
import { loadBackboneWeights } from '../../src/train/trainer.ts';

test('average precision by hand', () => {
  // ranks: 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): precisions at the hits 1/1 and 2/3
  assert.equal(averagePrecision([0.1, 0.9, 0.7, 0.8], [0, 1, 1, 0]), (1 + 2 / 3) / 2);
  assert.equal(averagePrecision([1, 2, 3], [1, 1, 1]), 1);
  assert.ok(Number.isNaN(averagePrecision([1, 2], [0, 0])));
});

test('a scene batch holds the scenes it names, with their tags', () => {
  const classes = ['disc', 'square', 'triangle', 'ring', 'star', 'cross'] as const;
  const b = sceneBatch(3, 11, 5, 2, 32, classes);
  assert.deepEqual(b.images.shape, [2, 3, 32, 32]);
  const tags = b.tags.toArray() as number[][];
  for (let j = 0; j < 2; j++) {
    const scene = generateScene(mix32(3, 11), 5 + j, { size: 32, classes });
    const want = classes.map((_, c) => (scene.instances.some((i) => i.classId === c) ? 1 : 0));
    assert.deepEqual(tags[j], want);
  }
  const again = sceneBatch(3, 11, 5, 2, 32, classes);
  assert.deepEqual(again.images.toArray(), b.images.toArray());
  torch.dispose([b.images, b.tags, again.images, again.tags]);
});

test('pretraining writes backbone weights the student loads; an aborted run resumes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-pretrain-'));
  const out = path.join(dir, 'backbone.safetensors');
  const base = {
    model: 'cpu-small',
    out,
    workDir: path.join(dir, 'work'),
    iterations: 3,
    batchSize: 2,
    lr: 1e-3,
    weightDecay: 0.05,
    seed: 1,
    classes: ['disc', 'square'] as const,
    checkpointEvery: 0,
    evalScenes: 4,
    progress: false,
  };
  const ctrl = new AbortController();
  ctrl.abort();
  const first = await pretrainBackbone({ ...base, signal: ctrl.signal });
  assert.equal(first.iterations, 1);
  assert.equal(first.interrupted, true);
  assert.ok(!(await readdir(dir)).includes('backbone.safetensors'), 'no weights before the run ends');
  const second = await pretrainBackbone({ ...base, resume: true });
  assert.equal(second.iterations, 3);
  assert.equal(second.losses.length, 2);
  assert.ok(second.eval && Number.isFinite(second.eval.bce));
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.includes('.tmp')),
    [],
  );
  const model = buildModel({ ...cpuSmall, promptDim: 16 });
  await loadBackboneWeights(model, out);
  const student = model.backbone.stateDict();
  const written = await loadSafetensors(out);
  assert.deepEqual(Object.keys(written).sort(), Object.keys(student).sort());
  for (const [k, t] of Object.entries(written)) assert.deepEqual(student[k].toArray(), t.toArray(), k);
  torch.dispose(Object.values(written));

  const wrong = path.join(dir, 'wrong.safetensors');
  await saveSafetensors(wrong, { 'not.a.key': torch.zeros([2]) });
  await assert.rejects(loadBackboneWeights(model, wrong), /wrong\.safetensors[\s\S]*unexpected keys/);
  await assert.rejects(loadBackboneWeights(model, path.join(dir, 'none.pth')), /none\.pth/);
});
