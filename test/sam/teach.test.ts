// The teacher's training pieces: SAM's prompts drawn from masks, low-resolution targets, the min-over-3
// mask loss (only the best mask gets gradient), IoU targets, a few steps that lower the loss on a fixed
// batch, resume equal to an uninterrupted run, and the shipped files loading through loadSam.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import { Rng } from '../../src/data/synth/rng.ts';
import { AdamW } from '../../src/engine/optim/index.ts';
import { buildSam, loadSam } from '../../src/sam/build.ts';
import { samPreset, validateSamConfig, type SamConfig } from '../../src/sam/config.ts';
import { disposeBatch, lowResTarget, makeBatch } from '../../src/sam/teach/batch.ts';
import { evaluateTeacher } from '../../src/sam/teach/evaluate.ts';
import { exportTeacher } from '../../src/sam/teach/export.ts';
import { batchLoss } from '../../src/sam/teach/forward.ts';
import { maskIou, minOverMasks, perMaskLoss, promptBatchLoss } from '../../src/sam/teach/losses.ts';
import { maskBox, noisyBox, samplePoints } from '../../src/sam/teach/prompts.ts';
import { CHECKPOINT_FILE, METRICS_FILE, teach } from '../../src/sam/teach/train.ts';

const values = (t: torch.Tensor): number[] => Array.from(t.toFloat32Array());
const close = (a: number[], b: number[], tol = 1e-5): void => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol, `[${i}] ${v} vs ${b[i]}`));
};

// A very small SAM for fast tests: 32 px input, 4 x 4 embedding, 16 x 16 low-res masks.
function tinyConfig(): SamConfig {
  return validateSamConfig({
    ...samPreset('vit_b'),
    imgSize: 32,
    patchSize: 8,
    encoderEmbedDim: 16,
    encoderDepth: 2,
    encoderNumHeads: 2,
    encoderGlobalAttnIndexes: [1],
    windowSize: 2,
    promptEmbedDim: 16,
    maskInChans: 4,
    decoderTransformerDepth: 1,
    decoderMlpDim: 32,
    decoderNumHeads: 2,
    iouHeadHiddenDim: 16,
  });
}

// 6 x 5 mask (row-major) with an L-shaped object.
const W = 5;
const MASK = new Uint8Array([
  0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0,
]);

test('prompts: points are pixel centres inside the mask; box is tight; noisy boxes stay in the image', () => {
  assert.deepEqual(maskBox(MASK, W), [1, 1, 4, 5]);
  const rng = new Rng(3);
  for (const [x, y] of samplePoints(MASK, W, 50, rng)) {
    assert.equal(x % 1, 0.5);
    assert.equal(MASK[Math.floor(y) * W + Math.floor(x)], 1);
  }
  for (let i = 0; i < 200; i++) {
    const [x0, y0, x1, y1] = noisyBox(MASK, W, 6, rng);
    assert.ok(x0 >= 0 && y0 >= 0 && x1 <= W && y1 <= 6, `${x0} ${y0} ${x1} ${y1}`);
    assert.ok(x1 - x0 >= 1 && y1 - y0 >= 1);
  }
  // Zero noise gives the tight box.
  assert.deepEqual(noisyBox(MASK, W, 6, rng, 0), [1, 1, 4, 5]);
});

test('lowResTarget: fraction of each cell inside the mask; padding is 0', () => {
  // 4 x 4 mask, top-left 2 x 2 on; L = 4, R = 2: one cell per 2 x 2 block.
  const m = new Uint8Array([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
  close(Array.from(lowResTarget(m, [4, 4], [4, 4], 4, 2)), [1, 0, 0, 0.25]);
  // The same 4 x 4 image inside an 8 x 8 input (top-left), R = 4: its cells as above, the rest padding.
  close(
    Array.from(lowResTarget(m, [4, 4], [4, 4], 8, 4)),
    [1, 0, 0, 0, 0, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  );
  // A 2 x 2 image resized to a 4 x 4 input: every cell is one original pixel.
  close(Array.from(lowResTarget(new Uint8Array([1, 0, 0, 1]), [2, 2], [4, 4], 4, 2)), [1, 0, 0, 1]);
});

test('losses: hand-computed BCE + dice; the min over 3 picks the best mask and only it gets gradient', () => {
  torch.tidy(() => {
    const target = torch.tensor([[[[1, 0]]]]); // [1, 1, 1, 2]
    // mask 0 right, mask 1 inverted, mask 2 undecided
    const logits = torch.tensor([[[[4, -4]], [[-4, 4]], [[0, 0]]]]).requiresGrad_(); // [1, 3, 1, 2]
    const per = perMaskLoss(logits, target);
    const s = (x: number) => 1 / (1 + Math.exp(-x));
    const bce = (x: number, t: number) => -(t * Math.log(s(x)) + (1 - t) * Math.log(1 - s(x)));
    const dice = (p: number[], t: number[]) =>
      1 - (2 * (p[0] * t[0] + p[1] * t[1]) + 1) / (p[0] + p[1] + t[0] + t[1] + 1);
    const want = [
      [4, -4],
      [-4, 4],
      [0, 0],
    ].map(([a, b]) => (bce(a, 1) + bce(b, 0)) / 2 + dice([s(a), s(b)], [1, 0]));
    close(values(per), want, 1e-5);
    const min = minOverMasks(per);
    close(values(min), [Math.min(...want)], 1e-6);
    min.sum().backward();
    const g = logits.grad!.toArray() as number[][][][];
    assert.ok(Math.abs(g[0][0][0][0]) > 0, 'the best mask gets gradient');
    assert.deepEqual([g[0][1][0][0], g[0][1][0][1], g[0][2][0][0], g[0][2][0][1]], [0, 0, 0, 0]);
  });
});

test('losses: IoU targets are the true IoU of each binarised mask; the IoU head loss is their MSE', () => {
  torch.tidy(() => {
    // target: 3 of 4 pixels (soft 0.6 counts as inside, 0.4 as outside)
    const target = torch.tensor([
      [
        [
          [1, 1],
          [0.6, 0.4],
        ],
      ],
    ]);
    const logits = torch.tensor([
      [
        [
          [1, 1],
          [1, 1],
        ],
        [
          [1, -1],
          [-1, -1],
        ],
        [
          [-1, -1],
          [-1, -1],
        ],
      ],
    ]);
    close(values(maskIou(logits, target)), [3 / 4, 1 / 3, 0]);
    const iouPred = torch.tensor([[0.5, 0.5, 0.5]]);
    const l = promptBatchLoss(logits, iouPred, target);
    close([l.iou.item()], [((0.75 - 0.5) ** 2 + (1 / 3 - 0.5) ** 2 + 0.25) / 3], 1e-6);
  });
});

test('training: a few AdamW steps on a fixed batch lower the loss', () => {
  torch.manualSeed(0);
  const cfg = tinyConfig();
  const sam = buildSam(cfg).train();
  const batch = makeBatch({
    seed: 5,
    indices: [0, 1],
    size: 32,
    maxPromptsPerImage: 3,
    mix: { point: 0.4, box: 0.4, multiPoints: 2 },
    imgSize: 32,
    lowResSize: 16,
    pixel: cfg,
    synth: { minInstances: 2, maxInstances: 3, minVisibleArea: 8 },
  });
  try {
    const opt = new AdamW(sam.parameters(), { lr: 1e-2, weightDecay: 0 });
    const losses: number[] = [];
    for (let i = 0; i < 25; i++) {
      torch.tidy(() => {
        const l = batchLoss(sam, batch);
        opt.zeroGrad();
        l.total.backward();
        opt.step();
        losses.push(l.total.item());
      });
    }
    assert.ok(losses[24] < 0.75 * losses[0], `loss ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  } finally {
    disposeBatch(batch);
    sam.dispose();
  }
});

test('teach: resumed run equals an uninterrupted one; metrics and checkpoint on disk; export loads with loadSam', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wish-teach-'));
  try {
    const options = {
      steps: 4,
      imagesPerStep: 2,
      maxPromptsPerImage: 2,
      sizes: [32, 24],
      warmupSteps: 1,
      checkpointEvery: 1,
      threads: 1,
    };
    const cfg = tinyConfig();
    const log = () => {};
    const straight = await teach({ out: join(dir, 'a'), options, config: cfg, progress: false, log });
    const first = await teach({
      out: join(dir, 'b'),
      options,
      config: cfg,
      progress: false,
      log,
      stopAfter: 2,
    });
    assert.equal(first.step, 2);
    first.sam.dispose();
    await assert.rejects(
      teach({ out: join(dir, 'b'), options, config: cfg, progress: false, log }),
      /pass --resume/,
    );
    await assert.rejects(
      teach({
        out: join(dir, 'b'),
        options: { ...options, steps: 5 },
        config: cfg,
        resume: true,
        progress: false,
        log,
      }),
      /other settings/,
    );
    const resumed = await teach({
      out: join(dir, 'b'),
      options,
      config: cfg,
      resume: true,
      progress: false,
      log,
    });
    assert.equal(resumed.step, 4);
    close(
      resumed.history.map((h) => h.loss),
      straight.history.map((h) => h.loss),
      1e-4,
    );
    const sa = straight.sam.stateDict();
    const sb = resumed.sam.stateDict();
    for (const k of Object.keys(sa)) assert.ok(torch.allclose(sa[k], sb[k], 1e-4, 1e-5), k);
    const lines = readFileSync(join(dir, 'b', METRICS_FILE), 'utf8')
      .trim()
      .split('\n');
    assert.deepEqual(
      lines.map((l) => (JSON.parse(l) as { step: number }).step),
      [1, 2, 3, 4],
    );
    assert.ok(statSync(join(dir, 'b', CHECKPOINT_FILE)).size > 0);

    // Shipped files: official key names, loadable by loadSam with the config JSON, same outputs.
    const w = join(dir, 'teacher.safetensors');
    const c = join(dir, 'teacher.json');
    await exportTeacher(resumed.sam, cfg, w, c, { steps: 4 });
    const loaded = await loadSam(w, { config: c });
    assert.deepEqual(loaded.config, cfg);
    const e1 = evaluateTeacher(resumed.sam, { seed: 9, scenes: 2, size: 32 });
    const e2 = evaluateTeacher(loaded, { seed: 9, scenes: 2, size: 32 });
    assert.deepEqual(e1, e2);
    assert.ok(e1.instances > 0);
    for (const v of [e1.pointIou, e1.pointOracleIou, e1.boxIou]) assert.ok(v >= 0 && v <= 1);
    assert.ok(e1.pointOracleIou >= e1.pointIou);
    // --init: a second phase starts from the shipped weights (fresh optimiser), here before any step.
    const phase2 = await teach({
      out: join(dir, 'c'),
      options: { ...options, init: w },
      config: cfg,
      progress: false,
      log,
      stopAfter: 0,
    });
    const s2 = phase2.sam.stateDict();
    for (const k of Object.keys(sb)) assert.ok(torch.allclose(s2[k], sb[k], 0, 0), k);
    phase2.sam.dispose();
    loaded.dispose();
    straight.sam.dispose();
    resumed.sam.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
