// The run config: shipped configs parse; every error names the offending key and the file.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PreparedDataset } from '../../src/method/prepare/types.ts';
import { cpuSmall } from '../../src/model/configs.ts';
import { loadRunConfig, parseRunConfig } from '../../src/train/config.ts';
import { buildModel } from '../../src/model/build.ts';
import { loadBackboneWeights, withTeacherPromptDim } from '../../src/train/trainer.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const base = { model: 'cpu-small', data: { prepared: 'p' }, batchSize: 8, iterations: 10 };

test('shipped configs validate, with the paper warm-ups and the backbone multiplier', async () => {
  const voc = await loadRunConfig(path.join(repo, 'configs', 'paper-voc.json'));
  const coco = await loadRunConfig(path.join(repo, 'configs', 'paper-coco.json'));
  const cpu = await loadRunConfig(path.join(repo, 'configs', 'cpu-small.json'));
  assert.equal(voc.loss.warmupIterations, Math.ceil((3 * 10582) / 16)); // 3 epochs of train_aug at batch 16
  assert.equal(coco.loss.warmupIterations, 30000);
  assert.equal(voc.model.numClasses, 20);
  assert.equal(coco.model.numClasses, 80);
  for (const c of [voc, coco]) {
    assert.equal(c.model.backbone.kind, 'resnet');
    assert.equal(c.model.pixelDecoder.kind, 'msdeform');
    assert.equal(c.optimizer.lr, 1e-4);
    assert.equal(c.optimizer.weightDecay, 0.05);
    assert.equal(c.optimizer.backboneLrMultiplier, 0.1);
  }
  assert.equal(cpu.model.inputSize, 96);
  assert.equal(cpu.optimizer.lr, 1e-3);
  assert.equal(cpu.batchSize, 8);
  // Relative paths resolve against the config file's folder.
  assert.equal(cpu.data.oracle!.weak, path.join(repo, 'data', 'synth-weak.json'));
});

test('defaults are the paper / Mask2Former values', () => {
  const c = parseRunConfig(base);
  assert.equal(c.gradClip, 0.01);
  assert.equal(c.loss.matcher.classWeight, 2);
  assert.equal(c.loss.matcher.promptWeight, 5);
  assert.equal(c.loss.noObjectWeight, 0.1);
  assert.equal(c.loss.matcher.samLevel, 'adaptive');
  assert.equal(c.tagsToPoints.tau, 0.5);
});

test('ablation switches are config values', () => {
  const c = parseRunConfig({
    ...base,
    loss: { promptWeight: 0, selfWeight: 0, matcher: { samLevel: 2, promptWeight: 0 } },
  });
  assert.equal(c.loss.promptWeight, 0);
  assert.equal(c.loss.selfWeight, 0);
  assert.equal(c.loss.matcher.samLevel, 2);
});

test('errors name the key', () => {
  const bad: [unknown, RegExp][] = [
    [{ ...base, batchSize: 0 }, /batchSize/],
    [{ ...base, iterations: 2.5 }, /iterations/],
    [{ ...base, optimizer: { lr: -1 } }, /optimizer\.lr/],
    [{ ...base, loss: { matcher: { samLevel: 3 } } }, /loss\.matcher\.samLevel/],
    [{ ...base, tagsToPoints: { tau: 2 } }, /tagsToPoints\.tau/],
    [{ ...base, learningRate: 1 }, /learningRate/],
    [{ ...base, data: { prepared: 'p', oracle: { weak: 'w', groundTruth: 'g' } } }, /data.*exactly one/s],
    [{ ...base, model: 'nope' }, /model: unknown model config "nope"/],
    [{ ...base, model: { numClasses: 4 } }, /key "model"[\s\S]*promptDim/],
  ];
  for (const [value, re] of bad)
    assert.throws(
      () => parseRunConfig(value, 'run.json'),
      (e: Error) => re.test(e.message) && e.message.includes('run.json'),
    );
});

test('a config file that is not JSON names the file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-cfg-'));
  const f = path.join(dir, 'broken.json');
  await writeFile(f, '{ "model": ');
  await assert.rejects(loadRunConfig(f), /broken\.json: not valid JSON/);
});

test("a named model adopts the teacher's prompt width; an explicit model object must match it", () => {
  const prepared = {
    manifest: { teacher: { checkpoint: 'teacher.safetensors', config: { promptEmbedDim: 64 } } },
  } as unknown as PreparedDataset;
  const named = withTeacherPromptDim(parseRunConfig(base), prepared);
  assert.equal(named.model.promptDim, 64);
  const explicit = parseRunConfig({ ...base, model: { ...cpuSmall, promptDim: 256 } });
  assert.throws(() => withTeacherPromptDim(explicit, prepared), /promptDim is 256[\s\S]*64 wide/);
  const same = parseRunConfig({ ...base, model: { ...cpuSmall, promptDim: 64 } });
  assert.equal(withTeacherPromptDim(same, prepared), same);
});

test('the CPU configs start from the shipped pretrained backbone, which fits the cpu-small model', async () => {
  for (const name of ['cpu-small.json', 'demo.json']) {
    const c = await loadRunConfig(path.join(repo, 'configs', name));
    assert.equal(c.backboneWeights, path.join(repo, 'models', 'backbone', 'cpu-small.safetensors'), name);
    assert.equal(c.optimizer.backboneLrMultiplier, 0.1, name);
    const model = buildModel(c.model);
    await loadBackboneWeights(model, c.backboneWeights!);
    model.dispose();
  }
});

test('docs/formats.md names every run-config key', async () => {
  const { readFile } = await import('node:fs/promises');
  const { runConfigSchema } = await import('../../src/train/config.ts');
  const { matcherConfigSchema, tagsToPointsConfigSchema, wishLossConfigSchema } =
    await import('../../src/method/config.ts');
  const doc = await readFile(new URL('../../docs/formats.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Run configs'));
  assert.ok(section.length > 100, 'docs/formats.md has a "## Run configs" section');
  type Shaped = { shape: Record<string, unknown> };
  const keysOf = (s: unknown): string[] => {
    let x = s as { shape?: Record<string, unknown>; unwrap?: () => unknown };
    while (!x.shape && x.unwrap) x = x.unwrap() as typeof x;
    return Object.keys((x as Shaped).shape);
  };
  const top = (runConfigSchema as unknown as Shaped).shape;
  const keys = [
    ...keysOf(runConfigSchema),
    ...['data', 'augment', 'optimizer'].flatMap((k) => keysOf(top[k])),
    ...keysOf(wishLossConfigSchema),
    ...keysOf(matcherConfigSchema),
    ...keysOf(tagsToPointsConfigSchema),
  ];
  // As code (`key`, `section.key`, `key.sub`) or in a defaults list ({key value, key value}).
  const named = (k: string): boolean => {
    const e = k.replace(/\$/g, '\\$');
    return new RegExp(`\`(?:[\\w.]+\\.)?${e}[\`.]|[{,] ?${e} `).test(section);
  };
  const missing = [...new Set(keys)].filter((k) => !named(k));
  assert.deepEqual(missing, []);
});
