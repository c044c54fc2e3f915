// The `wish teach` training loop: builds the teacher SAM, trains it on synthetic scenes' full masks with
// SAM's prompt recipe (batch.ts, forward.ts, losses.ts), AdamW with linear warm-up and cosine decay,
// gradient clipping. Every `checkpointEvery` steps (and at the end, and on SIGINT) it writes a training
// checkpoint atomically (weights, optimiser state, step) and appends metrics to metrics.jsonl; `resume`
// continues from that checkpoint with the same settings, producing the same batches from then on.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import * as torch from '../../engine/index.ts';
import { loadTrainingCheckpoint, saveTrainingCheckpoint } from '../../engine/io/checkpoint.ts';
import type { Json } from '../../engine/io/training-state.ts';
import {
  AdamW,
  cosineSchedule,
  isNormOrEmbedding,
  LrScheduler,
  paramGroups,
} from '../../engine/optim/index.ts';
import { buildSam } from '../build.ts';
import { loadSamStateDict } from '../load.ts';
import { samConfigToJson, type SamConfig } from '../config.ts';
import type { Sam } from '../sam.ts';
import { disposeBatch, makeBatch } from './batch.ts';
import { batchLoss } from './forward.ts';
import { resolveTeachOptions, type TeachOptions } from './options.ts';
import { teacherConfig } from './teacher-config.ts';

export const CHECKPOINT_FILE = 'last.ckpt.safetensors';
export const METRICS_FILE = 'metrics.jsonl';

export interface TeachRun {
  out: string;
  options?: Partial<TeachOptions>;
  config?: SamConfig;
  resume?: boolean;
  progress?: boolean;
  /** Stop after this many steps of THIS invocation (tests; a later --resume continues). */
  stopAfter?: number;
  log?: (line: string) => void;
}

export interface MetricsRecord {
  step: number;
  loss: number;
  mask: number;
  iou: number;
  meanIou: number;
  lr: number;
  prompts: number;
  seconds: number;
}

export interface TeachResult {
  sam: Sam;
  config: SamConfig;
  options: TeachOptions;
  step: number;
  /** Training seconds summed over every invocation (resumes included). */
  seconds: number;
  history: MetricsRecord[];
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Scene indices of a step: consecutive and never reused, so no scene is seen twice. */
export function stepIndices(step: number, imagesPerStep: number): number[] {
  return Array.from({ length: imagesPerStep }, (_, i) => step * imagesPerStep + i);
}

export async function teach(run: TeachRun): Promise<TeachResult> {
  const opts = resolveTeachOptions(run.options ?? {});
  const config = run.config ?? teacherConfig();
  const log = run.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  if (opts.threads) torch.setNumThreads(opts.threads);
  await mkdir(run.out, { recursive: true });
  const ckptPath = join(run.out, CHECKPOINT_FILE);
  const metricsPath = join(run.out, METRICS_FILE);

  torch.manualSeed(opts.seed);
  const sam = buildSam(config);
  if (opts.init !== undefined && !(run.resume && existsSync(ckptPath))) {
    // A second phase: the weights of an earlier run (same config), a fresh optimiser and schedule.
    const { stateDict } = await loadSamStateDict(opts.init, { config });
    try {
      sam.loadStateDict(stateDict);
    } finally {
      torch.dispose(stateDict);
    }
    log(`teach: initialised from ${opts.init}`);
  }
  sam.train();
  const names = sam.namedParameters();
  const optimizer = new AdamW(
    paramGroups(sam, { lr: opts.lr, weightDecay: opts.weightDecay }, [
      { match: (_n, _p, owner) => isNormOrEmbedding(owner), weightDecay: 0 },
    ]),
    { lr: opts.lr, weightDecay: opts.weightDecay, betas: [0.9, 0.999] },
  );
  let step = 0;
  let secondsBefore = 0;
  let history: MetricsRecord[] = [];
  if (run.resume && existsSync(ckptPath)) {
    const ck = await loadTrainingCheckpoint(ckptPath);
    try {
      const train = ck.train as { step: number; seconds: number; options: TeachOptions; config: Json };
      const want = JSON.stringify({
        options: { ...opts, threads: undefined },
        config: samConfigToJson(config),
      });
      const have = JSON.stringify({
        options: { ...train.options, threads: undefined },
        config: train.config,
      });
      if (want !== have) {
        throw new Error(
          `${ckptPath}: the checkpoint was made with other settings; resume with the same settings ` +
            `or write to a new --out.\n  checkpoint: ${have}\n  now:        ${want}`,
        );
      }
      sam.loadStateDict(ck.model);
      if (ck.optim) optimizer.loadStateDict(ck.optim, names);
      step = train.step;
      secondsBefore = train.seconds;
    } finally {
      torch.dispose(ck.model);
      if (ck.optim) for (const s of Object.values(ck.optim.slots)) torch.dispose(s);
    }
    if (existsSync(metricsPath)) {
      history = (await readFile(metricsPath, 'utf8'))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as MetricsRecord)
        .filter((r) => r.step <= step);
      await writeAtomic(
        metricsPath,
        history.map((r) => JSON.stringify(r)).join('\n') + (history.length ? '\n' : ''),
      );
    }
    log(`teach: resumed at step ${step} of ${opts.steps} from ${ckptPath}`);
  } else if (existsSync(ckptPath) && !run.resume) {
    throw new Error(`${ckptPath} exists: pass --resume to continue it, or choose another --out`);
  } else {
    await writeAtomic(metricsPath, '');
  }

  const sched = new LrScheduler(
    optimizer,
    cosineSchedule({
      maxIters: opts.steps,
      warmupIters: opts.warmupSteps,
      warmupFactor: 0.01,
      finalFactor: opts.finalLrFactor,
    }),
    step,
  );
  const pixel = { pixelMean: config.pixelMean, pixelStd: config.pixelStd };
  const params = sam.parameters();
  const t0 = performance.now();
  const seconds = (): number => secondsBefore + (performance.now() - t0) / 1000;
  const save = async (): Promise<void> => {
    await saveTrainingCheckpoint(ckptPath, {
      model: sam.stateDict(),
      optim: optimizer.stateDict(names),
      train: {
        step,
        seconds: seconds(),
        options: opts as unknown as Json,
        config: samConfigToJson(config) as Json,
      },
    });
  };
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);

  const showBar = run.progress ?? true;
  const bar = new cliProgress.SingleBar(
    {
      format:
        'teach |{bar}| {value}/{total} | loss {loss} | IoU {miou} | {rate} step/s | ETA {eta_formatted}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10000,
      etaBuffer: 50,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  if (showBar) bar.start(opts.steps, step, { loss: '-', miou: '-', rate: '0.00' });
  const startStep = step;
  const pending: MetricsRecord[] = [];
  const flush = async (): Promise<void> => {
    await save();
    if (pending.length > 0) {
      const prev = existsSync(metricsPath) ? await readFile(metricsPath, 'utf8') : '';
      await writeAtomic(metricsPath, prev + pending.map((r) => JSON.stringify(r)).join('\n') + '\n');
      pending.length = 0;
    }
  };
  try {
    while (
      step < opts.steps &&
      !interrupted &&
      (run.stopAfter === undefined || step - startStep < run.stopAfter)
    ) {
      const batch = makeBatch({
        seed: opts.seed,
        indices: stepIndices(step, opts.imagesPerStep),
        size: opts.sizes[step % opts.sizes.length],
        maxPromptsPerImage: opts.maxPromptsPerImage,
        mix: { point: opts.pointProb, box: opts.boxProb, multiPoints: opts.multiPoints },
        imgSize: config.imgSize,
        lowResSize: 4 * Math.floor(config.imgSize / config.patchSize),
        pixel,
      });
      let rec: MetricsRecord;
      try {
        rec = torch.tidy(() => {
          const l = batchLoss(sam, batch, {
            iouWeight: opts.iouWeight,
            loss: { pixelLoss: opts.pixelLoss, pixelWeight: opts.pixelWeight, diceWeight: opts.diceWeight },
          });
          optimizer.zeroGrad();
          l.total.backward();
          torch.clipGradNorm(params, opts.clipGradNorm);
          optimizer.step();
          const lr = opts.lr * sched.factor;
          sched.step();
          return {
            step: step + 1,
            loss: l.total.item(),
            mask: l.mask,
            iou: l.iou,
            meanIou: l.meanIou,
            lr,
            prompts: l.prompts,
            seconds: 0,
          };
        });
      } finally {
        disposeBatch(batch);
      }
      step++;
      rec.seconds = Math.round(seconds() * 10) / 10;
      history.push(rec);
      pending.push(rec);
      if (!Number.isFinite(rec.loss)) throw new Error(`teach: loss is ${rec.loss} at step ${step}`);
      if (showBar) {
        const recent = history.slice(-20);
        const avg = (k: 'loss' | 'meanIou'): string =>
          (recent.reduce((s, r) => s + r[k], 0) / recent.length).toFixed(3);
        const rate = (step - startStep) / Math.max(1e-3, (performance.now() - t0) / 1000);
        bar.update(step, { loss: avg('loss'), miou: avg('meanIou'), rate: rate.toFixed(2) });
      }
      if (step % opts.checkpointEvery === 0) await flush();
    }
    await flush();
  } finally {
    if (showBar) bar.stop();
    process.removeListener('SIGINT', onSigint);
  }
  if (interrupted) {
    log(`teach: interrupted at step ${step}; checkpoint saved, continue with --resume`);
    process.exitCode = 130;
  }
  sam.eval();
  return { sam, config, options: opts, step, seconds: seconds(), history };
}
