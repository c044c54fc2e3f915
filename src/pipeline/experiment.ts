// One experiment, end to end and resumable: weak labels -> `wish prepare` with a SAM teacher -> the WISH
// trainer -> COCO mask AP on a val set -> result.json. `wish demo` and `wish budget run` are built on it.
//
// outDir layout:
//   experiment.json   the inputs' hash and the seconds spent per stage over all calls (rewritten atomically)
//   prepared/         the `wish prepare` folder (prepared.json, labels.jsonl, embeddings/)
//   run/              the trainer's folder: checkpoint.safetensors, metrics.jsonl, curves.png
//   result.json       the final result (ExperimentResult + the inputs), written last, atomically
//
// A call with the same inputs as a finished one returns its result.json untouched; after an interruption
// it continues: prepare skips the images already done, training resumes from the last checkpoint.
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { cocoEval, loadResults } from '../eval/index.ts';
import { STAT_KEYS } from '../eval/types.ts';
import { readManifest, runPrepare, MANIFEST_FILE, type PrepareSummary } from '../method/prepare/prepare.ts';
import { toCocoResults, type CocoResult } from '../model/inference.ts';
import type { RunConfig } from '../train/config.ts';
import { loadValSet, predictImage } from '../train/evaluate.ts';
import { TIME_KEYS, writeCurvesPng } from '../train/metrics.ts';
import { loadTrainedModel } from '../train/predict.ts';
import { setupRunData } from '../train/setup.ts';
import { CHECKPOINT_FILE, CURVES_FILE, METRICS_FILE, train } from '../train/trainer.ts';
import { loadImage } from '../data/image/io.ts';
import {
  experimentInputs,
  readJsonIfExists,
  StageClock,
  STATE_FILE,
  STATE_FORMAT,
  writeJsonAtomic,
  type ExperimentInputs,
  type ExperimentState,
  type Stage,
} from './experiment-state.ts';
import {
  checkpointIteration,
  completeStats,
  curvesFromMetrics,
  finalStats,
  iterationTimes,
  readMetrics,
} from './run-records.ts';

export const RESULT_FILE = 'result.json';
export const RESULT_FORMAT = 'wish.experiment-result/1';
export const PREPARED_DIR = 'prepared';
export const RUN_DIR = 'run';

export interface ExperimentOptions {
  /** Weak-label JSON (as `wish weaken` writes it). */
  weak: string;
  /** Folder the weak file's file_names resolve against. */
  images: string;
  /** Teacher weights (+ SAM config JSON, e.g. models/teacher/teacher.json). */
  sam: { checkpoint: string; config?: string };
  /** Parsed run config (src/train/config.ts); its data section is replaced by the experiment. */
  runConfig: RunConfig;
  val: { annotations: string; images: string; limit?: number };
  /** Gets prepared/ (wish prepare output), run/ (checkpoint, metrics.jsonl, curves.png) and result.json. */
  outDir: string;
  /** Intra-op threads for prepare + train (1 is fastest on a busy 2-core machine). */
  threads?: number;
  /** Where SAM (prepare) and the student (train) run: 'cpu' (default) or 'cuda'. */
  device?: string;
  /** Progress bars on stderr (default true). */
  progress?: boolean;
  /** Human-readable stage lines (default: console.error). */
  log?: (line: string) => void;
  /** outDir holds another experiment's state: start it over instead of refusing. */
  force?: boolean;
  /**
   * Stop training after this many iterations in this call (checkpointed), then throw ExperimentStopped:
   * a controlled interruption, for tests. A later call resumes.
   */
  stopAfter?: number;
  /**
   * Aborting it (e.g. on Ctrl-C) stops at the next safe point: training after its current iteration, with a
   * checkpoint; prepare, which has no such point, finishes first. Then ExperimentStopped is thrown.
   */
  signal?: AbortSignal;
}

export interface ExperimentResult {
  /** Final COCO segm stats on val: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl. */
  stats: Record<string, number>;
  iterations: number;
  /** Seconds of work done in this call plus earlier calls (stored in result.json). */
  seconds: number;
  prepare: { images: number; labels: number; seconds: number };
  /** Per-iteration breakdown (ms per phase and its share), over every logged iteration. */
  times: { meanMs: Record<string, number>; share: Record<string, number>; totalMs: number };
  /** Path of the final checkpoint. */
  checkpoint: string;
  /** Optional extras (present in results written by this version). */
  secondsByStage?: Record<string, number>;
  /** Which teacher gave the targets, in words, and the prompt width the model was given. */
  teacher?: string;
  promptDim?: number;
  /** Point / box labels prepared, and tag images whose embeddings were cached. */
  labels?: { point: number; box: number; tagImages: number };
  /** Val images evaluated (and detections scored, when this module ran the final evaluation). */
  val?: { images: number; detections?: number };
}

/** result.json: the result plus what it was computed from. */
export interface ResultFile extends ExperimentResult {
  format: typeof RESULT_FORMAT;
  inputs: ExperimentInputs;
}

/** Thrown when `stopAfter` or `signal` ended the experiment early; the folder is resumable. */
export class ExperimentStopped extends Error {
  constructor(
    readonly outDir: string,
    /** Training iterations done so far (0 before training started). */
    readonly iteration: number,
    readonly iterations: number,
  ) {
    super(`${outDir}: stopped at training iteration ${iteration} of ${iterations}; call again to continue`);
    this.name = 'ExperimentStopped';
  }
}

export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const outDir = path.resolve(o.outDir);
  const preparedDir = path.join(outDir, PREPARED_DIR);
  const runDir = path.join(outDir, RUN_DIR);
  const resultFile = path.join(outDir, RESULT_FILE);
  const stateFile = path.join(outDir, STATE_FILE);
  const checkpoint = path.resolve(o.sam.checkpoint);
  const samConfig = o.sam.config === undefined ? null : path.resolve(o.sam.config);
  const valLimit = o.val.limit ?? o.runConfig.data.valLimit;
  const val = { annotations: path.resolve(o.val.annotations), images: path.resolve(o.val.images) };

  const inputs = await experimentInputs({
    weak: path.resolve(o.weak),
    images: path.resolve(o.images),
    checkpoint,
    samConfig,
    val: { ...val, limit: valLimit },
    runConfig: o.runConfig,
  });

  const stored = await readJsonIfExists<ResultFile>(resultFile);
  if (stored?.format === RESULT_FORMAT && stored.inputs?.hash === inputs.hash) {
    log(`experiment ${outDir}: ${RESULT_FILE} is up to date with these inputs; nothing to do`);
    const { format: _f, inputs: _i, ...result } = stored;
    return result;
  }

  // The folder must hold this experiment or nothing; another one's state is refused (or wiped with force).
  const previous = await readJsonIfExists<ExperimentState>(stateFile);
  const foreign = previous
    ? previous.format !== STATE_FORMAT || previous.inputsHash !== inputs.hash
    : stored !== null || (await checkpointIteration(path.join(runDir, CHECKPOINT_FILE))) !== null;
  if (foreign) {
    if (!o.force)
      throw new Error(
        `${outDir}: holds an experiment with other inputs (weak labels, teacher, run config or val set differ; ` +
          `see ${STATE_FILE}); use another output folder, or --force (option force) to start this one over`,
      );
    log(`experiment ${outDir}: other inputs than before; starting over (force)`);
    await Promise.all(
      [preparedDir, runDir, resultFile, stateFile].map((p) => rm(p, { recursive: true, force: true })),
    );
  }
  const state: ExperimentState =
    previous && !foreign
      ? previous
      : { format: STATE_FORMAT, inputsHash: inputs.hash, seconds: { prepare: 0, train: 0, eval: 0 } };
  const clock = new StageClock<Stage, ExperimentState>(stateFile, state);
  await clock.save();
  if (o.signal?.aborted) throw new ExperimentStopped(outDir, 0, o.runConfig.iterations);

  // 1. prepare (resumable; skips what an earlier call finished).
  log(`prepare: ${inputs.weak.path} with teacher ${checkpoint} -> ${preparedDir}`);
  const prep: PrepareSummary = await clock.time('prepare', () =>
    runPrepare({
      data: inputs.weak.path,
      images: inputs.images,
      sam: checkpoint,
      samConfig: samConfig ?? undefined,
      out: preparedDir,
      threads: o.threads,
      device: o.device,
      progress: o.progress ?? true,
      force: o.force,
    }),
  );
  if (prep.failures.length > 0)
    throw new Error(
      `${preparedDir}: ${prep.failures.length} image(s) failed in prepare (first: ${prep.failures[0].image}: ` +
        `${prep.failures[0].reason}); fix them and call again (the rest is kept)`,
    );
  log(
    `prepare: ${prep.images} images, ${prep.labels.point} point + ${prep.labels.box} box labels, ` +
      `${prep.embeddedImages} tag-image embeddings (${prep.computed} images computed now, ${prep.resumed} earlier)`,
  );

  // 2. train (resumes an unfinished checkpoint; a finished one is kept).
  const manifest = await readManifest(path.join(preparedDir, MANIFEST_FILE));
  const config = experimentConfig(o.runConfig, {
    prepared: preparedDir,
    val,
    valLimit,
    threads: o.threads,
    device: o.device,
    teacherPromptDim: manifest.teacher.config.promptEmbedDim,
  });
  const ckptFile = path.join(runDir, CHECKPOINT_FILE);
  const metricsFile = path.join(runDir, METRICS_FILE);
  let at = await checkpointIteration(ckptFile);
  if (o.signal?.aborted) throw new ExperimentStopped(outDir, at ?? 0, config.iterations);
  let teacherName = `SAM ${checkpoint}`;
  if (at === null || at < config.iterations) {
    log(
      at === null
        ? `train: ${config.iterations} iterations -> ${runDir}`
        : `train: resuming at iteration ${at} of ${config.iterations} -> ${runDir}`,
    );
    clock.begin('train');
    try {
      const data = await setupRunData(config);
      teacherName = data.teacherName;
      const r = await train({
        config,
        outDir: runDir,
        ...data,
        resume: at !== null,
        stopAfter: o.stopAfter,
        signal: o.signal,
        progress: o.progress ?? true,
      });
      r.model.dispose();
      at = r.lastIteration;
    } finally {
      await clock.end();
    }
    if (at < config.iterations) throw new ExperimentStopped(outDir, at, config.iterations);
  } else log(`train: ${ckptFile} is finished (iteration ${at}); not training again`);

  // 3. final evaluation: the trainer's own at the last iteration, else (e.g. killed during it) here.
  const metrics = await readMetrics(metricsFile);
  let stats = finalStats(metrics, at);
  const valSet = await loadValSet(val.annotations, val.images, valLimit);
  let detections: number | undefined;
  if (stats === null) {
    log(`eval: ${ckptFile} on ${valSet.gt.images.length} val images`);
    const r = await clock.time('eval', () => evaluateCheckpoint(ckptFile, valSet));
    stats = r.stats;
    detections = r.detections;
  }

  // A run killed between its last checkpoint and its curves PNG has none: draw it from the metrics.
  const curvesFile = path.join(runDir, CURVES_FILE);
  if (!(await exists(curvesFile))) {
    const c = curvesFromMetrics(metrics);
    if (detections !== undefined) c.ap.push({ iteration: at, value: stats.AP });
    await writeCurvesPng(curvesFile, c.loss, c.ap, config.iterations);
  }

  const seconds = clock.snapshot().seconds;
  const total = seconds.prepare + seconds.train + seconds.eval;
  const times = iterationTimes(metrics);
  const result: ExperimentResult = {
    stats,
    iterations: at,
    seconds: total,
    prepare: { images: prep.images, labels: prep.labels.point + prep.labels.box, seconds: seconds.prepare },
    times: { meanMs: { ...times.meanMs }, share: { ...times.share }, totalMs: times.totalMs },
    checkpoint: ckptFile,
    secondsByStage: { ...seconds },
    teacher: teacherName,
    promptDim: config.model.promptDim,
    labels: { point: prep.labels.point, box: prep.labels.box, tagImages: prep.embeddedImages },
    val: { images: valSet.gt.images.length, ...(detections === undefined ? {} : { detections }) },
  };
  await writeJsonAtomic(resultFile, { format: RESULT_FORMAT, inputs, ...result } satisfies ResultFile);
  log(
    `experiment: mask AP ${(100 * stats.AP).toFixed(2)} (AP50 ${(100 * stats.AP50).toFixed(2)}, ` +
      `AP75 ${(100 * stats.AP75).toFixed(2)}) after ${at} iterations; ${total.toFixed(1)} s of work -> ${resultFile}`,
  );
  return result;
}

/**
 * The run config an experiment trains with: the given one with its data section pointing at the prepared
 * folder and the val set. A NAMED model config (e.g. "cpu-small") takes the teacher's prompt width: the
 * names are sized for SAM's 256, the shipped demo teacher's prompts are 64 wide. A model written out in
 * full keeps its promptDim (the trainer refuses a mismatch, naming the fix).
 */
export function experimentConfig(
  c: RunConfig,
  o: {
    prepared: string;
    val: { annotations: string; images: string };
    valLimit: number;
    threads?: number;
    device?: string;
    teacherPromptDim: number;
  },
): RunConfig {
  const named = typeof c.modelSource === 'string';
  return {
    ...c,
    model: named ? { ...c.model, promptDim: o.teacherPromptDim } : c.model,
    data: { ...c.data, prepared: o.prepared, oracle: null, val: o.val, valLimit: o.valLimit },
    threads: o.threads ?? c.threads,
    device: o.device ?? c.device,
  };
}

/** COCO segm stats of a checkpoint on a val set (zero detections score 0, as COCOeval computes it). */
export async function evaluateCheckpoint(
  ckpt: string,
  val: Awaited<ReturnType<typeof loadValSet>>,
): Promise<{ stats: Record<(typeof STAT_KEYS)[number], number>; detections: number }> {
  const { model, inputSize, categoryIds } = await loadTrainedModel(ckpt);
  try {
    const results: CocoResult[] = [];
    for (const im of val.gt.images) {
      const img = await loadImage(path.join(val.imagesDir, im.file_name));
      results.push(...toCocoResults(im.id, predictImage(model, img, inputSize, categoryIds)));
      await new Promise((r) => setImmediate(r));
    }
    const dts = results.length > 0 ? loadResults(val.gt, results, 'predictions') : [];
    return { stats: completeStats({ ...cocoEval(val.gt, dts, 'segm').stats }), detections: results.length };
  } finally {
    model.dispose();
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Human-readable per-iteration time table (one line per phase). */
export function formatTimes(t: ExperimentResult['times']): string[] {
  return [
    `time per iteration: ${t.totalMs.toFixed(1)} ms`,
    ...TIME_KEYS.map(
      (k) =>
        `  ${k.padEnd(10)} ${(t.meanMs[k] ?? 0).toFixed(1).padStart(8)} ms  ${(100 * (t.share[k] ?? 0)).toFixed(1).padStart(5)}%`,
    ),
  ];
}
