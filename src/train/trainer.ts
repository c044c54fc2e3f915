// The WISH trainer as one straight loop (paper section 5.1.2, DESIGN section 4) of trainStep (step.ts:
//   batch -> forward -> (tag images: CAM peaks -> SAM points, Eq. 18) -> Eq. 20 loss (only L_cam during
//   the warm-up) -> backward -> clip -> AdamW (backbone lr x0.1)) and the warmup+poly schedule,
// with checkpoints, periodic mask AP, JSONL metrics, a curves PNG, a progress bar and a time breakdown.
// Determinism: every random draw of iteration `it` (batch order, augmentation, the loss's point sampling,
// the global RNG) is seeded from (seed, it), so `resume` continues with exactly the losses of an
// uninterrupted run on CPU.
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import * as torch from '../engine/index.ts';
import {
  loadPth,
  loadSafetensors,
  loadTrainingCheckpoint,
  saveTrainingCheckpoint,
} from '../engine/io/checkpoint.ts';
import { AdamW, LrScheduler, polySchedule } from '../engine/optim/index.ts';
import type { PointPromptTeacher } from '../method/tags-to-points.ts';
import type { PreparedDataset } from '../method/prepare/types.ts';
import { buildModel } from '../model/build.ts';
import { ResNet, loadTorchvisionResNet } from '../model/backbone/resnet.ts';
import type { WishModel } from '../model/wish-model.ts';
import { BatchSource } from './batches.ts';
import type { RunConfig } from './config.ts';
import { evaluateMaskAp, loadValSet, type ValSet } from './evaluate.ts';
import { appendJsonl, summarizeTimes, writeCurvesPng, type CurvePoint, type StepTimes } from './metrics.ts';
import { trainStep, type StepContext } from './step.ts';
import type { PromptLatentSource } from './teacher.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
export const CURVES_FILE = 'curves.png';

export interface TrainOptions {
  config: RunConfig;
  outDir: string;
  prepared: PreparedDataset;
  /** SAM's prompt encoder (target latents Z). */
  latents: PromptLatentSource;
  /** SAM point prompts for tag images (required when the data has tag images). */
  teacher?: PointPromptTeacher;
  /** Continue from outDir's checkpoint. */
  resume?: boolean;
  /** Stop (after checkpointing) once this run has done this many iterations: for interruption tests. */
  stopAfter?: number;
  /** Aborting it (e.g. on Ctrl-C) ends the run after the current iteration, with a checkpoint to resume. */
  signal?: AbortSignal;
  progress?: boolean;
  /** Overrides config.data.val (tests). */
  val?: ValSet | null;
}

export interface TrainResult {
  model: WishModel;
  /** Total loss per iteration run in this call. */
  losses: number[];
  lastIteration: number;
  /** True when `signal` stopped the run before config.iterations. */
  interrupted: boolean;
  evals: { iteration: number; ap: number; ap50: number }[];
  times: ReturnType<typeof summarizeTimes>;
}

export async function train(o: TrainOptions): Promise<TrainResult> {
  const c = withTeacherPromptDim(o.config, o.prepared);
  await mkdir(o.outDir, { recursive: true });
  if (c.threads > 0) torch.setNumThreads(c.threads);
  torch.manualSeed(c.seed);
  const ckptFile = path.join(o.outDir, CHECKPOINT_FILE);
  const metricsFile = path.join(o.outDir, METRICS_FILE);

  // Model, optimiser (backbone at lr x multiplier), schedule.
  const model = buildModel(c.model);
  if (c.backboneWeights) await loadBackboneWeights(model, c.backboneWeights);
  if (c.device !== 'cpu') model.to(c.device);
  const groups = model.parameterGroups();
  const opt = new AdamW(
    [
      { params: groups.backbone, lr: c.optimizer.lr * c.optimizer.backboneLrMultiplier },
      { params: groups.rest, lr: c.optimizer.lr },
    ].filter((g) => g.params.length > 0),
    { lr: c.optimizer.lr, weightDecay: c.optimizer.weightDecay },
  );
  const names = model.namedParameters();
  const params = names.map(([, p]) => p).filter((p) => p.requiresGrad);

  let start = 0;
  if (o.resume) {
    const ck = await loadTrainingCheckpoint(ckptFile);
    model.loadStateDict(ck.model);
    if (ck.optim) opt.loadStateDict(ck.optim, names);
    torch.dispose([ck.model, ck.optim?.slots]);
    start = (ck.train as { iteration: number }).iteration;
  } else {
    await rm(metricsFile, { force: true });
  }
  // The records of earlier runs up to the checkpoint (lines past it were logged after the last checkpoint
  // and are redone now, so they are dropped).
  const earlier = o.resume ? await readMetricsUpTo(metricsFile, start) : [];
  const schedule = polySchedule({
    maxIters: c.iterations,
    power: c.optimizer.polyPower,
    warmupIters: c.optimizer.warmupIters,
    warmupFactor: c.optimizer.warmupFactor,
  });
  const sched = new LrScheduler(opt, schedule, start);

  const data = new BatchSource(o.prepared, {
    inputSize: c.model.inputSize,
    batchSize: c.batchSize,
    augment: c.augment,
    seed: c.seed,
    cacheImages: c.data.cacheImages,
    latents: o.latents,
    device: c.device,
    workers: c.data.workers,
  });
  if (data.numClasses !== c.model.numClasses) {
    throw new Error(
      `${o.prepared.dir}: the dataset has ${data.numClasses} categories but the model config has numClasses ${c.model.numClasses}`,
    );
  }
  if (!o.teacher && data.images.some((im) => im.label_type === 'tag')) {
    throw new Error(`${o.prepared.dir}: the data has tag images but no SAM teacher was given`);
  }
  const samImgSize = o.prepared.manifest.teacher.config.imgSize;
  const val =
    o.val !== undefined
      ? o.val
      : c.data.val && (await loadValSet(c.data.val.annotations, c.data.val.images, c.data.valLimit));

  const bar =
    o.progress === false
      ? null
      : new cliProgress.SingleBar({
          format: 'train [{bar}] {value}/{total} | loss {loss} | {rate} it/s | ETA {eta_formatted}',
          hideCursor: true,
        });
  bar?.start(c.iterations, start, { loss: '-', rate: '-' });

  const losses: number[] = [];
  const evals: TrainResult['evals'] = [];
  const timeRows: StepTimes[] = [];
  const lossCurve: CurvePoint[] = earlier
    .filter((r) => r.kind === 'train')
    .map((r) => ({ iteration: r.iteration, value: r.loss as number }));
  const apCurve: CurvePoint[] = earlier
    .filter((r) => r.kind === 'eval')
    .map((r) => ({ iteration: r.iteration, value: r.maskAP as number }));
  const saveCheckpoint = async (iteration: number): Promise<void> => {
    await saveTrainingCheckpoint(ckptFile, {
      model: model.stateDict(),
      optim: opt.stateDict(names),
      train: { iteration, seed: c.seed, lrFactor: sched.factor },
      // What `wish predict` needs to rebuild the model and name its classes.
      extra: { modelConfig: JSON.stringify(c.model), categoryIds: JSON.stringify(data.categoryIds) },
    });
  };
  const runEval = async (iteration: number): Promise<void> => {
    if (!val) return;
    const r = await evaluateMaskAp(model, val, c.model.inputSize, data.categoryIds);
    evals.push({ iteration, ap: r.ap, ap50: r.ap50 });
    apCurve.push({ iteration, value: r.ap });
    await appendJsonl(metricsFile, {
      kind: 'eval',
      iteration,
      maskAP: r.ap,
      maskAP50: r.ap50,
      stats: r.stats,
    });
  };

  const step: StepContext = {
    config: c,
    model,
    opt,
    params,
    data,
    latents: o.latents,
    teacher: o.teacher,
    samImgSize,
  };
  const t0 = performance.now();
  let it = start;
  try {
    for (; it < c.iterations; it++) {
      const { total, terms, times, seg, tagPoints } = await trainStep(step, it);
      const lr = opt.paramGroups[opt.paramGroups.length - 1].lr;
      sched.step();

      losses.push(total);
      timeRows.push(times);
      lossCurve.push({ iteration: it + 1, value: total });
      if ((it + 1) % c.logEvery === 0 || it + 1 === c.iterations) {
        await appendJsonl(metricsFile, {
          kind: 'train',
          iteration: it + 1,
          phase: seg ? 'all' : 'cam-only',
          loss: total,
          terms,
          lr,
          tagPoints,
          timesMs: times,
        });
      }
      const done = it + 1 - start;
      bar?.update(it + 1, {
        loss: total.toFixed(3),
        rate: (done / ((performance.now() - t0) / 1000)).toFixed(2),
      });
      if (c.checkpointEvery > 0 && (it + 1) % c.checkpointEvery === 0) await saveCheckpoint(it + 1);
      if (c.evalEvery > 0 && (it + 1) % c.evalEvery === 0) await runEval(it + 1);
      await new Promise((r) => setImmediate(r)); // let the event loop breathe once per step
      if ((o.stopAfter !== undefined && done >= o.stopAfter) || o.signal?.aborted) {
        it++;
        break;
      }
    }
  } finally {
    await data.close(); // the augmentation workers, on every exit
  }
  bar?.stop();
  await saveCheckpoint(it);
  if (it === c.iterations && !(c.evalEvery > 0 && it % c.evalEvery === 0)) await runEval(it);
  const times = summarizeTimes(timeRows);
  await appendJsonl(metricsFile, { kind: 'summary', iteration: it, ...times });
  await writeCurvesPng(path.join(o.outDir, CURVES_FILE), lossCurve, apCurve, c.iterations);
  return {
    model,
    losses,
    lastIteration: it,
    interrupted: it < c.iterations && !!o.signal?.aborted,
    evals,
    times,
  };
}

/**
 * Pretrained backbone weights: a torchvision ImageNet ResNet `.pth` (paper configs), or a safetensors file
 * holding the backbone's own state dict (`wish pretrain` for CPU configs).
 */
export async function loadBackboneWeights(model: WishModel, file: string): Promise<void> {
  if (file.endsWith('.safetensors')) {
    const sd = await loadSafetensors(file).catch((e: Error) => {
      throw new Error(`backboneWeights: cannot read ${file}: ${e.message}`);
    });
    try {
      model.backbone.loadStateDict(sd);
    } catch (e) {
      throw new Error(`backboneWeights ${file}: ${(e as Error).message}`);
    } finally {
      torch.dispose(Object.values(sd));
    }
    return;
  }
  if (!(model.backbone instanceof ResNet))
    throw new Error(`backboneWeights ${file}: a .pth file loads into a ResNet backbone only`);
  loadTorchvisionResNet(model.backbone, await loadPth(file), file);
}

/**
 * The prompt head must emit latents as wide as the teacher's (256 for every released SAM, 64 for the shipped
 * demo teacher). A shipped model config given by name adopts the teacher's width; an explicit model object
 * must state it, so a mismatch there is an error.
 */
export function withTeacherPromptDim(c: RunConfig, prepared: PreparedDataset): RunConfig {
  const samDim = prepared.manifest.teacher.config.promptEmbedDim;
  if (samDim === c.model.promptDim) return c;
  if (typeof c.modelSource === 'string') return { ...c, model: { ...c.model, promptDim: samDim } };
  throw new Error(
    `model.promptDim is ${c.model.promptDim} but the teacher's prompt embeddings are ${samDim} wide (${prepared.manifest.teacher.checkpoint}); set model.promptDim to ${samDim}`,
  );
}

interface MetricsRecord {
  kind: string;
  iteration: number;
  [k: string]: unknown;
}

/**
 * Keeps metrics.jsonl's train/eval lines up to `iteration` (rewritten atomically); returns them. A torn
 * last line (a kill while appending) is dropped; a bad line elsewhere is corruption and an error.
 */
async function readMetricsUpTo(file: string, iteration: number): Promise<MetricsRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.split('\n');
  const last = lines.map((l) => l.trim() !== '').lastIndexOf(true);
  const rows: MetricsRecord[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      rows.push(JSON.parse(l) as MetricsRecord);
    } catch {
      if (i !== last) throw new Error(`${file}: line ${i + 1} is not JSON`);
    }
  });
  const kept = rows.filter((r) => r.kind !== 'summary' && r.iteration <= iteration);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  await rename(tmp, file);
  return kept;
}

/** True when a checkpoint exists in outDir. */
export async function hasCheckpoint(outDir: string): Promise<boolean> {
  return stat(path.join(outDir, CHECKPOINT_FILE)).then(
    () => true,
    () => false,
  );
}
