// `wish demo`: the whole method on a CPU with nothing downloaded. Synthetic train and val scenes -> weak
// labels under a budget (a mix of tags, points and boxes) -> runExperiment (prepare with the shipped
// teacher, train the run config, evaluate) -> predicted overlays beside the ground truth -> report.html.
//
// Output folder (also listed in the report):
//   data/train/          synthetic training scenes: images/, annotations.json (full masks)
//   data/val/            synthetic val scenes, same layout
//   data/weak.json       the weak labels of the training scenes (tags, points, boxes) under the budget
//   experiment/          runExperiment's folder: experiment.json, prepared/, run/, result.json
//   teacher/             a few training scenes: SAM's top-ranked mask per label with its prompt, and the truth
//   predict/             the trained student on a few val scenes: overlays/, truth/, results.json, images.json
//   demo-state.json      seconds spent per demo stage over all calls
//   summary.json         the numbers of the last line `--json` prints
//   report.html          the report (links images relatively: the folder can be moved)
//
// Every file is written to a temp file (or folder) and renamed, so an interrupted demo leaves complete
// files or none; the same command again reuses the data, resumes prepare and training, and redoes the
// cheap last stages. Ctrl-C (the `signal`) stops training after its current iteration with a checkpoint.
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoDataset } from '../data/coco/types.ts';
import { loadImage, savePng } from '../data/image/io.ts';
import type { Costs, Mix } from '../data/weak/budget.ts';
import { drawMaskOverlay } from '../sam/overlay.ts';
import { loadRunConfig, type RunConfig } from '../train/config.ts';
import { gtMasks, type GroundTruth } from '../train/oracle.ts';
import { imageIdsFromGt, predictFiles } from '../train/predict.ts';
import { ensureSynthSet, ensureWeakSet, type KindCounts } from './demo-data.ts';
import { readJsonIfExists, StageClock, writeJsonAtomic, type TimedState } from './experiment-state.ts';
import { PREPARED_DIR, RUN_DIR, runExperiment, type ExperimentResult } from './experiment.ts';
import { teacherViews } from './teacher-views.ts';
import { writeReport, type ReportData } from './report.ts';
import { CURVES_FILE } from '../train/trainer.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The demo's fixed choices (the run config's settings are read from `config`). */
export const DEMO_DEFAULTS = {
  config: path.join(repoRoot, 'configs', 'demo.json'),
  teacher: {
    checkpoint: path.join(repoRoot, 'models', 'teacher', 'teacher.safetensors'),
    config: path.join(repoRoot, 'models', 'teacher', 'teacher.json'),
  },
  trainImages: 480,
  valImages: 100,
  /** The teacher was trained on 128 px scenes. */
  size: 128,
  /** Spent 10% on tags, 30% on points, 60% on boxes at the paper's costs: 240 / 120 / 120 images. */
  budget: 2400,
  costs: { tag: 1, point: 6, box: 12 } as Costs,
  mix: { tag: 0.1, point: 0.3, box: 0.6 } as Mix,
  overlays: 8,
  /**
   * Instances drawn in the overlays (display only; AP scores every detection). With the pretrained backbone
   * the best score per val scene is 0.74-0.87 after configs/demo.json's 1500 iterations; below 0.4 the
   * overlays fill up with duplicates.
   */
  scoreThreshold: 0.4,
  /** The val scenes use seed + this, so they are never the training scenes. */
  valSeedOffset: 1000,
};

export interface DemoOptions {
  out: string;
  seed: number;
  threads: number;
  /** 'cpu' (default) or 'cuda': where SAM and the student run. */
  device?: string;
  /** Overrides the config's iterations (quick looks). */
  iterations?: number;
  force?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  /** The command line that reproduces this run (for the report). */
  command: string;
  config?: string;
  trainImages?: number;
  valImages?: number;
  size?: number;
  budget?: number;
  mix?: Mix;
  overlays?: number;
  scoreThreshold?: number;
  /** Ctrl-C: stops at the next safe point (see runExperiment), throwing ExperimentStopped. */
  signal?: AbortSignal;
}

export interface DemoSummary {
  AP: number;
  AP50: number;
  AP75: number;
  /** Seconds of work over every call, all stages. */
  seconds: number;
  stats: Record<string, number>;
  iterations: number;
  labels: KindCounts;
  /** Mean IoU of the teacher's top-ranked mask with the true mask, per label kind. */
  teacherIou: { point: number; box: number };
  secondsByStage: Record<string, number>;
  /** Per-iteration time breakdown of training. */
  times: ExperimentResult['times'];
  out: string;
  report: string;
}

type DemoStage = 'synth' | 'weaken' | 'teacher' | 'predict' | 'report';
interface DemoState extends TimedState<DemoStage> {
  format: 'wish.demo/1';
}

export const LAYOUT = [
  'data/train/          synthetic training scenes: images/, annotations.json (full masks)',
  'data/val/            synthetic val scenes, same layout',
  'data/weak.json       the weak labels of the training scenes (tags, points, boxes) under the budget',
  'experiment/          experiment.json, prepared/ (wish prepare), run/ (checkpoint, metrics.jsonl, curves.png), result.json',
  "teacher/             a few training scenes: SAM's top-ranked masks with the prompts, and the truth (-truth.png)",
  'predict/             overlays/ (student), truth/ (ground truth), results.json, images.json',
  'demo-state.json      seconds per demo stage over all calls',
  'summary.json         the numbers `wish demo --json` prints last',
  'report.html          this report',
];

/** Temp files and folders of the writers used here (writeFileAtomic, trainer, synth, COCO and safetensors writers). */
const TEMP_NAME = /\.(tmp|old)-\d+|^\..+\.\d+\.[0-9a-z]+\.tmp$/;

/** Removes temp files left by an interrupted earlier call (never this process's own). */
export async function removeStaleTemps(dir: string): Promise<number> {
  let removed = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const ent of entries) {
    const p = path.join(dir, ent.name);
    if (
      TEMP_NAME.test(ent.name) &&
      !ent.name.includes(`.tmp-${process.pid}`) &&
      !ent.name.includes(`.${process.pid}.`)
    ) {
      await rm(p, { recursive: true, force: true });
      removed++;
    } else if (ent.isDirectory()) removed += await removeStaleTemps(p);
  }
  return removed;
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const log = o.log ?? ((l: string) => console.error(l));
  const out = path.resolve(o.out);
  const d = DEMO_DEFAULTS;
  const trainOpts = { images: o.trainImages ?? d.trainImages, seed: o.seed, size: o.size ?? d.size };
  const valOpts = {
    images: o.valImages ?? d.valImages,
    seed: o.seed + d.valSeedOffset,
    size: trainOpts.size,
  };
  const budget = o.budget ?? d.budget;
  const mix = o.mix ?? d.mix;
  const configFile = path.resolve(o.config ?? d.config);
  const runConfig: RunConfig = await loadRunConfig(configFile);
  if (o.iterations !== undefined) runConfig.iterations = o.iterations;

  const stale = await removeStaleTemps(out);
  if (stale > 0) log(`demo: removed ${stale} temp file(s) of an interrupted earlier run`);
  const stateFile = path.join(out, 'demo-state.json');
  const previous = await readJsonIfExists<DemoState>(stateFile);
  const zero = { synth: 0, weaken: 0, teacher: 0, predict: 0, report: 0 };
  const state: DemoState = {
    format: 'wish.demo/1',
    seconds: previous?.format === 'wish.demo/1' ? { ...zero, ...previous.seconds } : zero,
  };
  const clock = new StageClock<DemoStage, DemoState>(stateFile, state);
  await clock.save();

  // 1. data
  const trainDir = path.join(out, 'data', 'train');
  const valDir = path.join(out, 'data', 'val');
  const synth = await clock.time('synth', async () => ({
    train: await ensureSynthSet(trainDir, trainOpts, o.force),
    val: await ensureSynthSet(valDir, valOpts, o.force),
  }));
  log(
    `synth: ${trainOpts.images} training scenes (seed ${trainOpts.seed}) ${synth.train.reused ? 'reused' : 'written'}, ` +
      `${valOpts.images} val scenes (seed ${valOpts.seed}) ${synth.val.reused ? 'reused' : 'written'}, ${trainOpts.size} px`,
  );
  const weakFile = path.join(out, 'data', 'weak.json');
  const weak = await clock.time('weaken', () =>
    ensureWeakSet(weakFile, synth.train.annotations, { budget, costs: d.costs, mix, seed: o.seed }, o.force),
  );
  const c = weak.counts;
  log(
    `weaken: budget ${budget} at costs ${d.costs.tag}:${d.costs.point}:${d.costs.box} -> ` +
      `${c.images.tag} tag images (${c.labels.tag} tags), ${c.images.point} point images (${c.labels.point} points), ` +
      `${c.images.box} box images (${c.labels.box} boxes); cost ${c.cost}${weak.reused ? ' (reused)' : ''}`,
  );

  // 2. prepare + train + evaluate
  const result: ExperimentResult = await runExperiment({
    weak: weakFile,
    images: path.dirname(weakFile),
    sam: d.teacher,
    runConfig,
    val: { annotations: synth.val.annotations, images: valDir },
    outDir: path.join(out, 'experiment'),
    threads: o.threads,
    device: o.device,
    progress: o.progress,
    log,
    force: o.force,
    signal: o.signal,
  });

  // 3. the teacher's masks against the truth (all labels), drawn on a few training scenes
  const teacherDir = path.join(out, 'teacher');
  const teacher = await clock.time('teacher', () =>
    teacherViews({
      preparedDir: path.join(out, 'experiment', PREPARED_DIR),
      groundTruth: synth.train.annotations,
      outDir: teacherDir,
      perKind: 2,
    }),
  );
  log(
    `teacher: mean IoU of SAM's top-ranked mask with the truth: point ${teacher.iou.point.meanIou.toFixed(3)} ` +
      `(${teacher.iou.point.labels} labels), box ${teacher.iou.box.meanIou.toFixed(3)} (${teacher.iou.box.labels})`,
  );

  // 4. overlays of the student and of the truth on the first val scenes
  const predictDir = path.join(out, 'predict');
  const valGt = JSON.parse(await readFile(synth.val.annotations, 'utf8')) as CocoDataset & GroundTruth;
  const shown = [...valGt.images].sort((a, b) => a.id - b.id).slice(0, o.overlays ?? d.overlays);
  const overlays = await clock.time('predict', async () => {
    const pred = await predictFiles({
      checkpoint: result.checkpoint,
      files: shown.map((im) => path.join(valDir, im.file_name)),
      outDir: predictDir,
      minScore: o.scoreThreshold ?? d.scoreThreshold,
      imageIds: imageIdsFromGt(valGt),
    });
    const masks = gtMasks(valGt);
    const rows: ReportData['overlays'] = [];
    for (const im of shown) {
      const name = path.basename(im.file_name, path.extname(im.file_name));
      const anns = valGt.annotations.filter((a) => a.image_id === im.id);
      const img = await loadImage(path.join(valDir, im.file_name));
      const planes = new Uint8Array(anns.length * img.width * img.height);
      anns.forEach((a, k) => planes.set(masks.get(a.id)!.data, k * img.width * img.height));
      await savePng(path.join(predictDir, 'truth', `${name}.png`), drawMaskOverlay(img, planes, anns.length));
      rows.push({
        name,
        predicted: path.relative(out, path.join(pred.overlayDir, `${name}.png`)),
        truth: path.relative(out, path.join(predictDir, 'truth', `${name}.png`)),
        instances: pred.results.filter((r) => r.image_id === im.id).length,
        truthInstances: anns.length,
      });
    }
    return rows;
  });
  log(
    `predict: ${overlays.length} val scenes -> ${path.join(predictDir, 'overlays')} (truth beside, in truth/)`,
  );

  // 5. report
  const reportFile = path.join(out, 'report.html');
  const summaryFile = path.join(out, 'summary.json');
  await clock.time('report', async () => {
    const s = clock.snapshot().seconds;
    const e = result.secondsByStage ?? { experiment: result.seconds };
    await writeReport(reportFile, {
      title: 'wish demo: instance segmentation from tags, points and boxes',
      command: o.command,
      dataset: {
        train: trainOpts,
        val: { images: valOpts.images, seed: valOpts.seed, evaluated: result.val?.images ?? valOpts.images },
      },
      weak: { budget, costs: d.costs, mix, ...weak.counts },
      teacher: {
        checkpoint: path.relative(repoRoot, d.teacher.checkpoint),
        config: path.relative(repoRoot, d.teacher.config),
        description: `the shipped demo teacher (SAM architecture, 0.4M parameters; prompt width ${result.promptDim ?? '?'})`,
        iou: teacher.iou,
        views: teacher.views.map((v) => ({
          ...v,
          teacher: path.relative(out, v.teacher),
          truth: path.relative(out, v.truth),
        })),
      },
      config: {
        file: path.relative(repoRoot, configFile),
        model: typeof runConfig.modelSource === 'string' ? runConfig.modelSource : '(inline model)',
        settings: {
          iterations: runConfig.iterations,
          batchSize: runConfig.batchSize,
          inputSize: runConfig.model.inputSize,
          lr: runConfig.optimizer.lr,
          camWarmup: runConfig.loss.warmupIterations,
          threads: o.threads,
        },
      },
      result,
      stageSeconds: { synth: s.synth, weaken: s.weaken, ...e, teacher: s.teacher, predict: s.predict },
      curves: path.join('experiment', RUN_DIR, CURVES_FILE),
      overlays,
      scoreThreshold: o.scoreThreshold ?? d.scoreThreshold,
      layout: LAYOUT,
    });
  });
  const s = clock.snapshot().seconds;
  const secondsByStage = {
    synth: s.synth,
    weaken: s.weaken,
    ...(result.secondsByStage ?? { experiment: result.seconds }),
    teacher: s.teacher,
    predict: s.predict,
    report: s.report,
  };
  const summary: DemoSummary = {
    AP: result.stats.AP,
    AP50: result.stats.AP50,
    AP75: result.stats.AP75,
    seconds: Object.values(secondsByStage).reduce((a, b) => a + b, 0),
    stats: result.stats,
    iterations: result.iterations,
    labels: weak.counts,
    teacherIou: { point: teacher.iou.point.meanIou, box: teacher.iou.box.meanIou },
    secondsByStage,
    times: result.times,
    out,
    report: reportFile,
  };
  await writeJsonAtomic(summaryFile, summary);
  log(`report: ${reportFile}`);
  return summary;
}
