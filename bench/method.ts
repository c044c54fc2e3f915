// Micro-benchmark of the WISH matcher and losses on one training iteration's shapes: batch 8, 16 queries,
// ~4 targets per image with SAM's 3 masks each, the last decoder layer plus aux layers, prompt latents
// 2 x 256, CAMs. SAM targets either as original-frame masks made once by SAM's postprocess
// (--target-kind frame, FrameMaskTargets) or as cached low-res 256 x 256 logits read through the exact
// postprocess chain at every use (--target-kind lowres, SamMaskTargets). Times (median over --iters):
//   match    - Hungarian matching of every layer (Eq. 11-14)
//   loss     - Eq. 15 on every layer + Eq. 17 + Eq. 19, forward
//   backward - backward of that loss to the prediction tensors (leaves here)
// Usage: npm run bench:method -- [--points 1024] [--mask 24] [--layers 4] [--batch 8] [--queries 16]
//        [--targets 4] [--classes 4] [--iters 20] [--target-kind frame|lowres] [--with-model] [--share]
// --with-model also times whole cpu-small training steps (the real model's forward, this loss, one backward)
// and reports matching + loss as a share of the step.
// --train <run config.json> instead runs real training iterations through the trainer's own step
// (src/train/step.ts: batches, augmentation, tag images' CAM -> SAM point targets, forward, wishLoss and
// one read of its terms, backward, clip, AdamW) on the config's data, with the loss's warm-up off, and
// reports the trainer's phases and matchLoss (wishLoss + the terms' reads) as a share of
// the iteration: the median over iterations of the per-iteration ratio, of wall time and of CPU time.
// Threads: the engine's (WISH_NUM_THREADS). With the config's "device": "cuda" the model and batches run on
// the GPU and every phase ends with a synchronize (its kernels are timed in it). --frozen keeps the model
// (learning rate 0) so that two versions compare on the same targets. Example:
//   WISH_NUM_THREADS=1 npm run bench:method -- --train configs/cpu-small.json --iters 40 [--share] [--frozen]
// A paper-size step on oracle targets (no SAM weights or datasets needed), as measured on the H100:
//   wish synth --out B/synth --images 32 --size 512 && wish weaken --in B/synth/annotations.json \
//     --out B/weak.json --counts 10,11,11
//   B/run.json: {"model": "paper", "backboneWeights": null, "batchSize": 4, "loss": {"warmupIterations": 0},
//     "data": {"oracle": {"weak": "weak.json", "groundTruth": "synth/annotations.json"}, "workers": 4},
//     "evalEvery": 0, "checkpointEvery": 0, "device": "cuda"}
// The last line is JSON. The default is the cpu-small shape (96 px images, 24 x 24 masks, 3 decoder
// layers + the initial prediction); `--points 12544 --mask 64 --layers 10` is a paper-sized point count.
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';

import * as torch from '../src/engine/index.ts';
import type { Tensor } from '../src/engine/index.ts';
import { identityMap } from '../src/data/augment/frame-map.ts';
import { AdamW } from '../src/engine/optim/index.ts';
import { loadRunConfig } from '../src/train/config.ts';
import { setupRunData } from '../src/train/setup.ts';
import { BatchSource } from '../src/train/batches.ts';
import { TIME_KEYS } from '../src/train/metrics.ts';
import { trainStep, type StepContext } from '../src/train/step.ts';
import { withTeacherPromptDim } from '../src/train/trainer.ts';
import { buildModel } from '../src/model/build.ts';
import { cpuSmall } from '../src/model/configs.ts';
import {
  FrameMaskTargets,
  SamMaskTargets,
  matchLayer,
  prepareTargets,
  wishLoss,
  wishLossConfig,
  type ImageTargets,
  type LayerPrediction,
} from '../src/method/index.ts';

const { values: args } = parseArgs({
  options: {
    points: { type: 'string', default: '1024' },
    mask: { type: 'string', default: '24' },
    layers: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    queries: { type: 'string', default: '16' },
    targets: { type: 'string', default: '4' },
    classes: { type: 'string', default: '4' },
    iters: { type: 'string', default: '20' },
    'target-kind': { type: 'string', default: 'frame' },
    'with-model': { type: 'boolean', default: false },
    share: { type: 'boolean', default: false },
    train: { type: 'string' },
    frozen: { type: 'boolean', default: false },
  },
});
if (args.train !== undefined) {
  // Real training steps instead of the synthetic shapes below (see trainSteps).
  const iterations = Number(args.iters);
  if (!Number.isInteger(iterations) || iterations < 1)
    throw new Error(`--iters must be a positive integer, got ${args.iters}`);
  await trainSteps(args.train, iterations, args.share, args.frozen);
  process.exit(0);
}
delete (args as Record<string, unknown>).train;
const kind = args['target-kind'];
if (kind !== 'frame' && kind !== 'lowres')
  throw new Error(`--target-kind must be frame or lowres, got ${kind}`);
const withModel = args['with-model'];
const share = args.share;
delete (args as Record<string, unknown>)['target-kind'];
delete (args as Record<string, unknown>)['with-model'];
delete (args as Record<string, unknown>).share;
delete (args as Record<string, unknown>).frozen;
const o = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, Number(v)])) as Record<string, number>;
for (const [k, v] of Object.entries(o)) {
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`--${k} must be a positive integer, got ${args[k as keyof typeof args]}`);
}
const { points: P, mask: h, layers: nLayers, batch: B, queries: Q, targets: T, classes: C, iters } = o;
const Dp = 256;
const image = 96;
const g = new torch.Generator(0);

// Fixed inputs: SAM targets for every image (3 low-res maps each), 1..T targets per image (mean ~T).
const geo = {
  imgSize: 1024,
  inputSize: [1024, 1024] as [number, number],
  originalSize: [image, image] as [number, number],
};
const targets: ImageTargets[] = Array.from({ length: B }, (_, b) => {
  const n = Math.max(1, T - 1 + (b % 3)); // T-1, T, T+1, ...
  return torch.keep({
    classes: Array.from({ length: n }, (_, i) => (b + i) % C),
    masks:
      kind === 'lowres'
        ? new SamMaskTargets(
            torch.randn([n, 3, 256, 256], { generator: g }).keep(),
            geo,
            identityMap(image, image),
          )
        : new FrameMaskTargets(
            torch.rand([n, 3, image, image], { generator: g }).gt(0.5).float().keep(),
            identityMap(image, image),
          ),
    prompts: { kind: b % 2 ? 'box' : 'point', latents: torch.randn([n, 2, Dp], { generator: g }).keep() },
  } as ImageTargets);
});
const totalTargets = targets.reduce((s, t) => s + t.classes.length, 0);

function layer(): LayerPrediction {
  return {
    predLogits: torch.randn([B, Q, C + 1], { generator: g }).requiresGrad_(),
    predMasks: torch.randn([B, Q, h, h], { generator: g }).mul(3).requiresGrad_(),
    predPrompts: {
      point: torch.randn([B, Q, 2, Dp], { generator: g }).requiresGrad_(),
      box: torch.randn([B, Q, 2, Dp], { generator: g }).requiresGrad_(),
    },
  };
}
const config = wishLossConfig({ numPoints: P, matcher: { numPoints: P, sharePointsAcrossLayers: share } });

const times = { match: [] as number[], loss: [] as number[], backward: [] as number[] };
// Process CPU time as well as wall time: on a shared, loaded machine wall time mostly measures waiting.
const cpu = { match: [] as number[], loss: [] as number[], backward: [] as number[] };
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const bar = new SingleBar(
  { format: 'bench:method {bar} {value}/{total} iterations | {rate} it/s | ETA {eta}s', hideCursor: true },
  Presets.shades_classic,
);
const warmup = 3;
bar.start(warmup + iters, 0, { rate: '0.0' });
const started = performance.now();
for (let it = 0; it < warmup + iters; it++) {
  torch.tidy(() => {
    const layers = Array.from({ length: nLayers }, layer);
    const cams = torch.randn([B, C, 3, 3], { generator: g }).requiresGrad_();
    const pred = { ...layers[0], aux: layers.slice(1), camMaps: cams, camLogits: cams.mean([2, 3]) };
    let t0 = performance.now();
    let c0 = cpuMs();
    const prepared = prepareTargets(targets);
    for (const l of layers) matchLayer(l, targets, config.matcher, g, prepared);
    const match = performance.now() - t0;
    const matchCpu = cpuMs() - c0;
    // wishLoss matches again inside; its loss time is (its time - the matching time measured above).
    t0 = performance.now();
    c0 = cpuMs();
    const out = wishLoss(pred, targets, config, { iteration: 0, generator: g });
    const loss = performance.now() - t0 - match;
    const lossCpu = cpuMs() - c0 - matchCpu;
    t0 = performance.now();
    c0 = cpuMs();
    out.total.backward();
    const backward = performance.now() - t0;
    const backwardCpu = cpuMs() - c0;
    if (it >= warmup) {
      times.match.push(match);
      times.loss.push(Math.max(0, loss));
      times.backward.push(backward);
      cpu.match.push(matchCpu);
      cpu.loss.push(Math.max(0, lossCpu));
      cpu.backward.push(backwardCpu);
    }
    return undefined as Tensor | undefined;
  });
  const secs = (performance.now() - started) / 1000;
  bar.update(it + 1, { rate: ((it + 1) / secs).toFixed(1) });
}
bar.stop();

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r = {
  match_ms: median(times.match),
  loss_ms: median(times.loss),
  backward_ms: median(times.backward),
};
const total = r.match_ms + r.loss_ms + r.backward_ms;
const rc = { match: median(cpu.match), loss: median(cpu.loss), backward: median(cpu.backward) };
const totalCpu = rc.match + rc.loss + rc.backward;
const load = loadavg()[0];
console.log(
  `batch ${B}, ${Q} queries, ${totalTargets} targets (${(totalTargets / B).toFixed(1)}/image), ${nLayers} layers, ` +
    `${P} points, masks ${h}x${h}, ${kind} SAM targets, ${torch.getNumThreads()} threads`,
);
console.log(`load average ${load.toFixed(1)} on ${availableParallelism()} cores        wall       cpu`);
const row = (name: string, w: number, c: number): void =>
  console.log(`${name.padEnd(30)} ${w.toFixed(1).padStart(8)} ms ${c.toFixed(1).padStart(8)} ms`);
row('matching (all layers)', r.match_ms, rc.match);
row('losses forward (all terms)', r.loss_ms, rc.loss);
row('losses backward', r.backward_ms, rc.backward);
row('total', total, totalCpu);
const step = withModel ? modelSteps() : null;
if (step) {
  console.log(
    `cpu-small step: forward ${step.forward.toFixed(1)} ms, matching + loss ${step.loss.toFixed(1)} ms, backward ` +
      `${step.backward.toFixed(1)} ms (wall); matching + loss = ${(100 * step.share).toFixed(1)}% of the step ` +
      `(${(100 * step.cpuShare).toFixed(1)}% of its CPU time)`,
  );
}
console.log(
  JSON.stringify({
    bench: 'method',
    ...(step
      ? {
          step_forward_ms: Number(step.forward.toFixed(2)),
          step_loss_ms: Number(step.loss.toFixed(2)),
          step_backward_ms: Number(step.backward.toFixed(2)),
          loss_share_of_step: Number(step.share.toFixed(4)),
          loss_cpu_share_of_step: Number(step.cpuShare.toFixed(4)),
        }
      : {}),
    target_kind: kind,
    share_points: share,
    batch: B,
    queries: Q,
    targets: totalTargets,
    layers: nLayers,
    points: P,
    mask: h,
    threads: torch.getNumThreads(),
    ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v.toFixed(2))])),
    total_ms: Number(total.toFixed(2)),
    cpu_match_ms: Number(rc.match.toFixed(2)),
    cpu_loss_ms: Number(rc.loss.toFixed(2)),
    cpu_backward_ms: Number(rc.backward.toFixed(2)),
    cpu_total_ms: Number(totalCpu.toFixed(2)),
    load_average: Number(load.toFixed(2)),
  }),
);

/** Whole cpu-small steps: the real model's forward, wishLoss on its outputs, one backward (medians). */
function modelSteps(): { forward: number; loss: number; backward: number; share: number; cpuShare: number } {
  const model = buildModel(cpuSmall);
  model.train();
  if (model.numClasses !== C) throw new Error(`--classes must be ${model.numClasses} with --with-model`);
  const images = torch.randn([B, 3, image, image], { generator: g }).keep();
  const parts = {
    forward: [] as number[],
    loss: [] as number[],
    backward: [] as number[],
    share: [] as number[],
  };
  const cpuShare: number[] = [];
  for (let it = 0; it < warmup + iters; it++) {
    torch.tidy(() => {
      let t0 = performance.now();
      let c0 = cpuMs();
      const out = model.forward(images);
      const forward = performance.now() - t0;
      const forwardCpu = cpuMs() - c0;
      t0 = performance.now();
      c0 = cpuMs();
      const loss = wishLoss(out, targets, config, { iteration: 0, generator: g });
      const lossMs = performance.now() - t0;
      const lossCpu = cpuMs() - c0;
      t0 = performance.now();
      c0 = cpuMs();
      loss.total.backward();
      const backward = performance.now() - t0;
      const backwardCpu = cpuMs() - c0;
      if (it >= warmup) {
        parts.forward.push(forward);
        parts.loss.push(lossMs);
        parts.backward.push(backward);
        parts.share.push(lossMs / (forward + lossMs + backward));
        cpuShare.push(lossCpu / (forwardCpu + lossCpu + backwardCpu));
      }
    });
    model.zeroGrad();
  }
  images.dispose();
  model.dispose();
  return {
    forward: median(parts.forward),
    loss: median(parts.loss),
    backward: median(parts.backward),
    share: median(parts.share),
    cpuShare: median(cpuShare),
  };
}

/**
 * Training iterations as the trainer runs them (its phases, timed the same way), on the run config's data
 * with the loss warm-up off (every term from the first iteration). Prints the phases' medians and
 * matchLoss's share of the iteration (median of per-iteration ratios, wall and CPU), then a JSON line.
 */
async function trainSteps(
  file: string,
  iterations: number,
  sharePoints: boolean,
  frozen: boolean,
): Promise<void> {
  // (This runs before the module's other helpers are initialised: its own.)
  const cpuMs = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const run0 = await loadRunConfig(file);
  const run = await setupRunData(run0);
  // as the trainer does: a named model takes the teacher's prompt width
  const c = withTeacherPromptDim(run0, run.prepared);
  c.loss.warmupIterations = 0;
  if (sharePoints) c.loss.matcher.sharePointsAcrossLayers = true;
  torch.manualSeed(c.seed); // as the trainer seeds the model's init
  const model = buildModel(c.model);
  if (c.device !== 'cpu') model.to(c.device);
  const params = model.parameters().filter((p) => p.requiresGrad);
  // --frozen: learning rate 0, so every run sees the same model and so the same targets (tag images' CAM
  // points depend on the model): for comparing two versions of the loss on identical work.
  const lr = frozen ? 0 : c.optimizer.lr;
  const opt = new AdamW([{ params, lr }], {
    lr,
    weightDecay: c.optimizer.weightDecay,
  });
  const data = new BatchSource(run.prepared, {
    inputSize: c.model.inputSize,
    batchSize: c.batchSize,
    augment: c.augment,
    seed: c.seed,
    cacheImages: true,
    latents: run.latents,
    device: c.device,
    workers: c.data.workers,
  });
  const samImgSize = run.prepared.manifest.teacher.config.imgSize;
  const phases = TIME_KEYS; // the trainer's phases, as trainStep times them
  type Phase = (typeof phases)[number];
  const wall: Record<Phase, number[]> = Object.fromEntries(phases.map((k) => [k, []])) as never;
  const shares: number[] = [];
  const cpuShares: number[] = [];
  let samImages = 0;
  const warm = 3;
  const progress = new SingleBar(
    { format: 'bench:method --train {bar} {value}/{total} iterations | ETA {eta}s', hideCursor: true },
    Presets.shades_classic,
  );
  progress.start(warm + iterations, 0);
  const step: StepContext = {
    config: c,
    model,
    opt,
    params,
    data,
    latents: run.latents,
    teacher: run.teacher,
    samImgSize,
    syncPhases: true, // on a GPU, each phase's own kernels are timed in it
  };
  for (let it = 0; it < warm + iterations; it++) {
    // The trainer's own step; CPU time is read at each phase's end beside the step's wall times.
    const cpu = Object.fromEntries(phases.map((k) => [k, 0])) as Record<Phase, number>;
    let tickCpu = cpuMs();
    const r = await trainStep(step, it, (k) => {
      const nowCpu = cpuMs();
      cpu[k] += nowCpu - tickCpu;
      tickCpu = nowCpu;
    });
    const times = r.times;
    samImages += r.tagImagesWithPoints;
    if (it >= warm) {
      for (const k of phases) wall[k].push(times[k]);
      const sum = (x: Record<Phase, number>): number => phases.reduce((a, k) => a + x[k], 0);
      shares.push(times.matchLoss / sum(times));
      cpuShares.push(cpu.matchLoss / sum(cpu));
    }
    progress.update(it + 1);
  }
  progress.stop();
  await data.close();
  const med = Object.fromEntries(phases.map((k) => [k, median(wall[k])])) as Record<Phase, number>;
  console.log(
    `${file}: ${iterations} iterations (after ${warm} warm-up), batch ${c.batchSize}, ${torch.getNumThreads()} threads, ${c.data.workers} augmentation workers, ` +
      `${(samImages / (warm + iterations)).toFixed(2)} tag images with SAM targets per batch, shared matching points: ${sharePoints}`,
  );
  console.log(phases.map((k) => `${k} ${med[k].toFixed(1)} ms`).join(', ') + ' (medians, wall)');
  console.log(
    `matchLoss = ${(100 * median(shares)).toFixed(1)}% of an iteration (wall), ${(100 * median(cpuShares)).toFixed(1)}% (CPU time); load average ${loadavg()[0].toFixed(1)}`,
  );
  console.log(
    JSON.stringify({
      bench: 'method-train',
      config: file,
      iterations,
      threads: torch.getNumThreads(),
      workers: c.data.workers,
      share_points: sharePoints,
      frozen,
      ...Object.fromEntries(phases.map((k) => [`${k}_ms`, Number(med[k].toFixed(2))])),
      match_loss_share: Number(median(shares).toFixed(4)),
      match_loss_cpu_share: Number(median(cpuShares).toFixed(4)),
      load_average: Number(loadavg()[0].toFixed(2)),
    }),
  );
  model.dispose();
}
