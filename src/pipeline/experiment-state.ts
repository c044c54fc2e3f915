// The bookkeeping of one experiment folder: what its inputs were (a sha256 over the weak file, the teacher,
// the run config and the val set) and how many seconds each stage has taken over every call so far.
// `experiment.json` is rewritten atomically at stage ends and every few seconds while a stage runs, so an
// interrupted call loses at most that much of its time accounting and never leaves a torn file.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { writeFileAtomic } from '../data/image/io.ts';
import { fileSha256 } from '../sam/cache/model-id.ts';
import type { RunConfig } from '../train/config.ts';

export const STATE_FILE = 'experiment.json';
export const STATE_FORMAT = 'wish.experiment/1';

export const STAGES = ['prepare', 'train', 'eval'] as const;
export type Stage = (typeof STAGES)[number];

/** The identity of an experiment's inputs, and the parts it was made from (stored for people to read). */
export interface ExperimentInputs {
  hash: string;
  weak: { path: string; sha256: string };
  images: string;
  teacher: { checkpoint: string; sha256: string; config: string | null; configSha256: string | null };
  val: { annotations: string; sha256: string; images: string; limit: number };
  /** The run config without its data section and thread count (neither changes what is trained). */
  runConfig: Record<string, unknown>;
}

export interface ExperimentState extends TimedState<Stage> {
  format: typeof STATE_FORMAT;
  inputsHash: string;
}

/** The run config's training-relevant part: model, schedule, losses; not data paths or threads. */
export function trainingPart(c: RunConfig): Record<string, unknown> {
  const { data: _d, threads: _t, modelSource: _s, $comment: _c, ...rest } = c;
  return rest as Record<string, unknown>;
}

export async function experimentInputs(o: {
  weak: string;
  images: string;
  checkpoint: string;
  samConfig: string | null;
  val: { annotations: string; images: string; limit: number };
  runConfig: RunConfig;
}): Promise<ExperimentInputs> {
  const [weakSha, teacherSha, cfgSha, valSha] = await Promise.all([
    fileSha256(o.weak),
    fileSha256(o.checkpoint),
    o.samConfig === null ? Promise.resolve(null) : fileSha256(o.samConfig),
    fileSha256(o.val.annotations),
  ]);
  const runConfig = trainingPart(o.runConfig);
  // Paths are left out of the hash: the same bytes moved elsewhere are the same experiment.
  const h = createHash('sha256');
  h.update(`weak:${weakSha}\nteacher:${teacherSha}\nsam-config:${cfgSha ?? '-'}\n`);
  h.update(`val:${valSha}:${o.val.limit}\nrun:${JSON.stringify(runConfig)}\n`);
  return {
    hash: h.digest('hex'),
    weak: { path: o.weak, sha256: weakSha },
    images: o.images,
    teacher: { checkpoint: o.checkpoint, sha256: teacherSha, config: o.samConfig, configSha256: cfgSha },
    val: { annotations: o.val.annotations, sha256: valSha, images: o.val.images, limit: o.val.limit },
    runConfig,
  };
}

/** Reads a JSON file, or null when it does not exist; a corrupt file is an error naming it. */
export async function readJsonIfExists<T>(file: string): Promise<T | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** A state file that keeps seconds per stage. */
export interface TimedState<S extends string> {
  seconds: Record<S, number>;
}

/**
 * Seconds per stage across calls: `begin(stage)` starts this call's clock for a stage, `end()` adds it to
 * the stored total. While a stage runs, a timer saves the running total every `saveEverySeconds`, so an
 * interrupted call loses at most that much. Saves are chained so an older snapshot never lands last.
 */
export class StageClock<S extends string, T extends TimedState<S> = TimedState<S>> {
  private current: { stage: S; t0: number } | null = null;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: string,
    private readonly state: T,
    private readonly saveEverySeconds = 10,
  ) {}

  /** Stored seconds plus the running stage's time so far. */
  snapshot(): T {
    const seconds = { ...this.state.seconds };
    if (this.current) seconds[this.current.stage] += (performance.now() - this.current.t0) / 1000;
    return { ...this.state, seconds };
  }

  save(): Promise<void> {
    const snap = this.snapshot();
    this.chain = this.chain.then(() => writeJsonAtomic(this.file, snap));
    return this.chain;
  }

  begin(stage: S): void {
    if (this.current) throw new Error(`StageClock: stage ${this.current.stage} is still running`);
    this.current = { stage, t0: performance.now() };
    this.timer = setInterval(() => void this.save().catch(() => {}), this.saveEverySeconds * 1000);
    this.timer.unref();
  }

  async end(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.state.seconds = this.snapshot().seconds;
    this.current = null;
    await this.save();
  }

  /** Times `fn` as `stage` (committed also when it throws: the time was spent). */
  async time<R>(stage: S, fn: () => Promise<R>): Promise<R> {
    this.begin(stage);
    try {
      return await fn();
    } finally {
      await this.end();
    }
  }
}
