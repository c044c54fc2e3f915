// `wish budget run`: the paper's fixed-budget sweep (section 5.3, Table 3). For every distinct label mix
// of the requested pairs: weaken the fully annotated data to that mix (seeded), train and evaluate one
// experiment on it, record the result in DIR/sweep.json; then the table and the plot. Resumable: done
// points are skipped, an interrupted one resumes inside its experiment folder.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCocoJson } from '../data/coco/load.ts';
import type { CocoDataset } from '../data/coco/types.ts';
import type { Costs } from '../data/weak/budget.ts';
import { writeWeakDataset } from '../data/weak/load.ts';
import { weaken } from '../data/weak/weaken.ts';
import type { RunConfig } from '../train/config.ts';
import type { ExperimentOptions, ExperimentResult } from './experiment.ts';
import { planSweep, type Pair, type SweepPlan, type SweepPoint } from './sweep-plan.ts';
import { writeSweepPlot } from './sweep-plot.ts';
import {
  diffInputs,
  lockSweep,
  readSweepState,
  sha256File,
  sha256Text,
  SWEEP_FILE,
  SWEEP_VERSION,
  writeSweepState,
  type PointRecord,
  type SweepInputs,
  type SweepState,
} from './sweep-state.ts';
import { buildSweepTable, sweepTableMarkdown, type SweepTable } from './sweep-table.ts';

export const POINTS_DIR = 'points';
export const TABLE_MD = 'table.md';
export const TABLE_JSON = 'table.json';
export const PLOT_PNG = 'plot.png';
export const WEAK_FILE = 'weak.json';

/** What the sweep asks of one experiment (src/pipeline/experiment.ts, `runExperiment`). */
export type ExperimentRequest = Pick<
  ExperimentOptions,
  'weak' | 'images' | 'sam' | 'runConfig' | 'val' | 'outDir' | 'threads' | 'progress' | 'log' | 'signal'
>;

/** The part of an experiment's result the sweep reads; the whole result is stored in sweep.json. */
export type ExperimentOutcome = Pick<ExperimentResult, 'stats' | 'iterations' | 'seconds' | 'checkpoint'>;

/** Trains and evaluates one weak-label dataset; resumable in its outDir. Injected so tests can fake it. */
export type ExperimentRunner = (o: ExperimentRequest) => Promise<ExperimentOutcome>;

export interface SweepOptions {
  /** Fully annotated COCO JSON (masks) the weak labels are derived from. */
  data: string;
  /** Folder its file_names resolve against (default: the JSON's folder). */
  images?: string;
  val: { annotations: string; images: string };
  /** The run config file (for the record) and its parsed contents; its data section is replaced. */
  configFile: string;
  runConfig: RunConfig;
  sam: { checkpoint: string; config?: string };
  budget: number;
  costs: Costs;
  pairs: Pair[];
  steps: number;
  grain?: number;
  endpoints?: 'round' | 'floor';
  /** Seeds weaken (which images get which kind, where the points fall); training uses the config's seed. */
  seed: number;
  threads?: number;
  outDir: string;
  /** Start over when DIR holds a sweep with other inputs. */
  force?: boolean;
  progress?: boolean;
  log?: (line: string) => void;
  /** Aborting it (Ctrl-C) stops the sweep at the running point's next iteration; rerunning continues. */
  signal?: AbortSignal;
}

/** The sweep stopped on its signal; the interrupted point stays 'running' and resumes on the next call. */
export class SweepStopped extends Error {
  constructor(readonly point: string) {
    super(`budget run: stopped during point ${point}; run the same command again to continue`);
    this.name = 'SweepStopped';
  }
}

export interface SweepOutcome {
  plan: SweepPlan;
  state: SweepState;
  table: SweepTable;
  /** Points trained (or resumed) in this call, and points found done. */
  ran: string[];
  skipped: string[];
  files: { state: string; markdown: string; json: string; plot: string };
}

/** Images that can carry a label: weaken only chooses images with a non-crowd instance. */
export function eligibleImages(coco: CocoDataset): number {
  const withInstance = new Set(coco.annotations.filter((a) => !a.iscrowd).map((a) => a.image_id));
  return coco.images.filter((im) => withInstance.has(im.id)).length;
}

function mixText(p: { tag: number; point: number; box: number }): string {
  const parts = (['tag', 'point', 'box'] as const).filter((k) => p[k] > 0).map((k) => `${p[k]} ${k}`);
  return parts.length ? parts.join(' + ') : 'no labels';
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '-';
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}

async function sweepInputs(o: SweepOptions, images: string): Promise<SweepInputs> {
  const { data: _data, threads: _threads, ...training } = o.runConfig;
  const trainingKey = {
    ...training,
    valLimit: o.runConfig.data.valLimit,
    cache: o.runConfig.data.cacheImages,
  };
  return {
    budget: o.budget,
    costs: o.costs,
    steps: o.steps,
    grain: o.grain ?? null,
    endpoints: o.endpoints ?? 'round',
    seed: o.seed,
    data: { path: path.resolve(o.data), sha256: await sha256File(o.data, '--data') },
    images,
    val: {
      path: path.resolve(o.val.annotations),
      sha256: await sha256File(o.val.annotations, '--val-data'),
      images: path.resolve(o.val.images),
      limit: o.runConfig.data.valLimit,
    },
    config: { path: path.resolve(o.configFile), sha256: sha256Text(JSON.stringify(trainingKey)) },
    sam: {
      path: path.resolve(o.sam.checkpoint),
      sha256: await sha256File(o.sam.checkpoint, '--sam'),
      configPath: o.sam.config ? path.resolve(o.sam.config) : null,
      configSha256: o.sam.config ? await sha256File(o.sam.config, '--sam-config') : null,
    },
  };
}

async function isNonEmptyDir(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

async function requireDir(dir: string, what: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new Error(`${what} ${dir}: no such folder`);
  }
  if (!isDir) throw new Error(`${what} ${dir}: not a folder`);
}

/** The sweep state to continue: the stored one when its inputs match, a fresh one otherwise (--force). */
async function openState(o: SweepOptions, inputs: SweepInputs, plan: SweepPlan, log: (l: string) => void) {
  const file = path.join(o.outDir, SWEEP_FILE);
  const pointsDir = path.join(o.outDir, POINTS_DIR);
  let state = await readSweepState(file).catch((e: Error) => {
    if (!o.force) throw e;
    log(`budget run: ${e.message.split('\n')[0]}; starting over (--force)`);
    return null;
  });
  if (state) {
    const diff = diffInputs(state.inputs, inputs);
    if (diff.length > 0) {
      if (!o.force)
        throw new Error(
          `${file} holds a sweep made with other inputs:\n  ${diff.join('\n  ')}\n` +
            'its points would not be results of this sweep: use another --out, or --force to start over',
        );
      log(
        `budget run: inputs changed (${diff.map((d) => d.split(':')[0]).join(', ')}); starting over (--force)`,
      );
      state = null;
    }
  } else if ((await isNonEmptyDir(pointsDir)) && !o.force) {
    throw new Error(
      `${pointsDir} exists but ${file} does not: it is not known what these points were trained with; ` +
        'use another --out, or --force to start over',
    );
  }
  if (!state) {
    await rm(pointsDir, { recursive: true, force: true });
    for (const f of [TABLE_MD, TABLE_JSON, PLOT_PNG]) await rm(path.join(o.outDir, f), { force: true });
    state = { version: SWEEP_VERSION, inputs, plan, points: {} } as SweepState;
  }
  // The plan is this call's; records of points from earlier calls with other pairs stay (same inputs, so
  // still valid, and shared if a later call asks for them again).
  state.plan = plan;
  for (const p of plan.points)
    state.points[p.name] ??= {
      name: p.name,
      tag: p.tag,
      point: p.point,
      box: p.box,
      cost: p.cost,
      status: 'pending',
      dir: path.join(POINTS_DIR, p.name),
    };
  return { file, state };
}

async function writeOutputs(o: SweepOptions, state: SweepState, caption: string[]): Promise<SweepTable> {
  const table = buildSweepTable(state.plan, state.points);
  const atomic = async (file: string, text: string): Promise<void> => {
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, text);
    await rename(tmp, file);
  };
  await atomic(path.join(o.outDir, TABLE_MD), sweepTableMarkdown(table, caption));
  await atomic(
    path.join(o.outDir, TABLE_JSON),
    JSON.stringify({ ...table, caption, points: state.points }, null, 2) + '\n',
  );
  await writeSweepPlot(path.join(o.outDir, PLOT_PNG), table);
  return table;
}

export async function runSweep(o: SweepOptions, runExperiment: ExperimentRunner): Promise<SweepOutcome> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const images = path.resolve(o.images ?? path.dirname(o.data));
  await requireDir(images, '--images');
  await requireDir(o.val.images, '--val-images');
  const plan = planSweep(o.budget, o.costs, o.pairs, o.steps, { grain: o.grain, endpoints: o.endpoints });

  const coco = await loadCocoJson(o.data);
  const eligible = eligibleImages(coco);
  for (const p of plan.points) {
    const wanted = p.tag + p.point + p.box;
    if (wanted > eligible)
      throw new Error(
        `--data ${o.data}: the mix ${p.name} (${mixText(p)}) needs ${wanted} labeled images but only ${eligible} ` +
          `of ${coco.images.length} images have a non-crowd instance; lower --budget (the all-tag endpoint ` +
          `needs budget / tag cost images)`,
      );
  }
  await loadCocoJson(o.val.annotations); // validates val up front, before hours of training

  const inputs = await sweepInputs(o, images);
  await mkdir(o.outDir, { recursive: true });
  const unlock = await lockSweep(o.outDir);
  try {
    return await sweepLocked(o, runExperiment, { plan, coco, images, inputs, log });
  } finally {
    await unlock();
  }
}

async function sweepLocked(
  o: SweepOptions,
  runExperiment: ExperimentRunner,
  c: { plan: SweepPlan; coco: CocoDataset; images: string; inputs: SweepInputs; log: (l: string) => void },
): Promise<SweepOutcome> {
  const { plan, coco, images, inputs, log } = c;
  const { file, state } = await openState(o, inputs, plan, log);
  const save = (): Promise<void> => writeSweepState(file, state);
  await save();
  const caption = [
    `data ${inputs.data.path}, weaken seed ${o.seed}; val ${inputs.val.path}` +
      (inputs.val.limit > 0 ? ` (first ${inputs.val.limit} images)` : ''),
    `config ${inputs.config.path}: ${o.runConfig.iterations} iterations per point, batch ${o.runConfig.batchSize}, ` +
      `training seed ${o.runConfig.seed}; teacher ${inputs.sam.path}`,
    'AP: COCO mask AP (segm) in percent on val; the best AP of each pair in bold.',
  ];
  await writeOutputs(o, state, caption);

  const ran: string[] = [];
  const skipped: string[] = [];
  const total = plan.points.length;
  for (const [i, p] of plan.points.entries()) {
    const rec = state.points[p.name];
    if (rec.status === 'done') {
      skipped.push(p.name);
      log(`budget run: point ${i + 1}/${total} ${p.name} (${mixText(p)}): done earlier, skipped`);
      continue;
    }
    const doneSecs = plan.points
      .map((q) => state.points[q.name])
      .map((r) => (r.status === 'done' ? (r.result?.seconds ?? r.seconds) : undefined))
      .filter((s) => s !== undefined);
    const left = plan.points.filter((q) => state.points[q.name].status !== 'done').length;
    const eta = doneSecs.length ? (doneSecs.reduce((s, v) => s + v, 0) / doneSecs.length) * left : NaN;
    const resumed =
      rec.status === 'running'
        ? ' (resuming an interrupted run)'
        : rec.status === 'failed'
          ? ' (retrying)'
          : '';
    log(
      `budget run: point ${i + 1}/${total} ${p.name} (${mixText(p)}, cost ${p.cost})${resumed} | ` +
        `${total - left} done, ${left} left | ETA ${doneSecs.length ? formatDuration(eta) : '- (no point timed yet)'}`,
    );
    const t0 = performance.now();
    try {
      const result = await runPoint(o, coco, p, rec, images, save, log, runExperiment);
      Object.assign(rec, { status: 'done', result, seconds: (performance.now() - t0) / 1000 });
      delete rec.error;
    } catch (e) {
      if (o.signal?.aborted) {
        rec.seconds = (rec.seconds ?? 0) + (performance.now() - t0) / 1000;
        await save();
        await writeOutputs(o, state, caption);
        throw new SweepStopped(p.name);
      }
      Object.assign(rec, {
        status: 'failed',
        error: (e as Error).message,
        seconds: (performance.now() - t0) / 1000,
      });
      await save();
      await writeOutputs(o, state, caption);
      throw new Error(
        `budget run: point ${p.name} (${mixText(p)}) failed: ${(e as Error).message}\n` +
          `(recorded in ${file}; rerun the same command to retry it, the finished points are kept)`,
      );
    }
    ran.push(p.name);
    await save();
    await writeOutputs(o, state, caption);
    const ap = rec.result?.stats.AP;
    log(
      `budget run: point ${p.name} done in ${formatDuration(rec.seconds!)}: mask AP ${ap === undefined ? '-' : (100 * ap).toFixed(2)}` +
        ` (table so far: ${path.join(o.outDir, TABLE_MD)})`,
    );
  }
  const table = await writeOutputs(o, state, caption);
  return {
    plan,
    state,
    table,
    ran,
    skipped,
    files: {
      state: file,
      markdown: path.join(o.outDir, TABLE_MD),
      json: path.join(o.outDir, TABLE_JSON),
      plot: path.join(o.outDir, PLOT_PNG),
    },
  };
}

/**
 * One point: its weak-label file, then the experiment. Unchosen images are DROPPED, not kept as "none":
 * the trainer skips unlabeled images anyway (src/train/batches.ts) and the method has no use for them,
 * so dropping them keeps each point's dataset exactly what its budget bought and spares `prepare` work.
 */
async function runPoint(
  o: SweepOptions,
  coco: CocoDataset,
  p: SweepPoint,
  rec: PointRecord,
  images: string,
  save: () => Promise<void>,
  log: (l: string) => void,
  runExperiment: ExperimentRunner,
): Promise<ExperimentOutcome> {
  const dir = path.join(o.outDir, rec.dir);
  const weakFile = path.join(dir, WEAK_FILE);
  await mkdir(dir, { recursive: true });
  // The weak file depends only on the sweep's inputs (checked) and the counts, so one written by an
  // interrupted attempt is the same file: keep it (prepare checks its data by sha256).
  if (!(await exists(weakFile))) {
    const w = weaken(coco, {
      counts: { tag: p.tag, point: p.point, box: p.box },
      seed: o.seed,
      unchosen: 'drop',
      pointStrategy: 'uniform',
      boxSource: 'mask',
      costs: o.costs,
      source: o.data,
    });
    // file_names stay as in --data: they resolve against --images, which the experiment is given.
    await writeWeakDataset(weakFile, w.dataset);
  }
  rec.status = 'running';
  await save();
  return runExperiment({
    weak: weakFile,
    images,
    sam: o.sam,
    runConfig: o.runConfig,
    val: {
      annotations: o.val.annotations,
      images: o.val.images,
      limit: o.runConfig.data.valLimit > 0 ? o.runConfig.data.valLimit : undefined,
    },
    outDir: dir,
    threads: o.threads,
    progress: o.progress,
    log,
    signal: o.signal,
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
