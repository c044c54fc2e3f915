// DIR/sweep.json: what a budget sweep was made from (its inputs, by content hash), its plan, and each
// point's status and result. Written atomically after every change, so an interrupted sweep resumes
// from it; a sweep with other inputs is refused (a finished point's result would not be its result).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';

export const SWEEP_FILE = 'sweep.json';
export const SWEEP_VERSION = 1;
export const LOCK_FILE = 'sweep.lock';

/**
 * Everything that decides a point's result. Files are compared by sha256 only (their paths are kept for
 * the record), so a moved but equal file still matches; image folders by path.
 */
export interface SweepInputs {
  budget: number;
  costs: { tag: number; point: number; box: number };
  steps: number;
  grain: number | null;
  endpoints: 'round' | 'floor';
  seed: number;
  data: { path: string; sha256: string };
  images: string;
  val: { path: string; sha256: string; images: string; limit: number };
  /** sha256 of the run config as parsed, without its data section (the sweep supplies the data). */
  config: { path: string; sha256: string };
  sam: { path: string; sha256: string; configPath: string | null; configSha256: string | null };
}

export type PointStatus = 'pending' | 'running' | 'done' | 'failed';

const countsShape = {
  tag: z.number().int().nonnegative(),
  point: z.number().int().nonnegative(),
  box: z.number().int().nonnegative(),
  cost: z.number(),
};

const resultSchema = z
  .object({
    stats: z.record(z.string(), z.number()),
    iterations: z.number(),
    seconds: z.number(),
    checkpoint: z.string(),
  })
  .loose();

const pointRecordSchema = z.object({
  name: z.string(),
  ...countsShape,
  status: z.enum(['pending', 'running', 'done', 'failed']),
  /** The point's folder relative to the sweep folder. */
  dir: z.string(),
  /** Wall seconds of the last attempt (weaken + experiment), for the ETA. */
  seconds: z.number().optional(),
  result: resultSchema.optional(),
  error: z.string().optional(),
});

const rowSchema = z.object({ ...countsShape, step: z.number().int(), name: z.string() });

const stateSchema = z.object({
  version: z.literal(SWEEP_VERSION),
  inputs: z.record(z.string(), z.unknown()),
  plan: z.object({
    budget: z.number(),
    costs: z.object({ tag: z.number(), point: z.number(), box: z.number() }),
    steps: z.number().int(),
    pairs: z.array(z.object({ pair: z.string(), rows: z.array(rowSchema) })),
    points: z.array(z.object({ name: z.string(), ...countsShape })),
  }),
  points: z.record(z.string(), pointRecordSchema),
});

export type PointResult = z.infer<typeof resultSchema>;
export type PointRecord = z.infer<typeof pointRecordSchema>;
export type SweepState = Omit<z.infer<typeof stateSchema>, 'inputs'> & { inputs: SweepInputs };

export async function sha256File(file: string, what: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  } catch (e) {
    throw new Error(`${what} ${file}: cannot read: ${(e as Error).message}`);
  }
  return h.digest('hex');
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads DIR/sweep.json; null when there is none. Errors name the file. */
export async function readSweepState(file: string): Promise<SweepState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}); remove it or use --force`);
  }
  const r = stateSchema.safeParse(json);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 10).map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${file}: not a sweep state file:\n${lines.join('\n')}\nremove it or use --force`);
  }
  return r.data as unknown as SweepState; // inputs are only compared, key by key (diffInputs)
}

/** Temp file + rename: a crash never leaves a half-written state. */
export async function writeSweepState(file: string, state: SweepState): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await rename(tmp, file);
}

/** Human-readable differences between two sets of inputs ("budget: 300 -> 600"); empty when equal. */
export function diffInputs(was: SweepInputs, now: SweepInputs): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(was), ...Object.keys(now)]) as Set<keyof SweepInputs>;
  for (const k of keys) {
    const a = JSON.stringify(withoutPaths(was[k]));
    const b = JSON.stringify(withoutPaths(now[k]));
    if (a !== b) out.push(`${k}: ${short(a)} -> ${short(b)}`);
  }
  return out;
}

/** A file's path is a record, not an input: its content hash is. */
function withoutPaths(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'path' && k !== 'configPath'));
}

function short(s: string | undefined): string {
  if (s === undefined) return '(none)';
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes DIR/sweep.lock (holding this process's pid) so that two `budget run` calls never write one
 * sweep at once; a lock left by a process that is gone is taken over. Returns the release function.
 */
export async function lockSweep(dir: string): Promise<() => Promise<void>> {
  const file = `${dir}/${LOCK_FILE}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(file, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      return () => rm(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new Error(
          `${dir}: another budget run (pid ${pid}) is working on this sweep; wait for it or stop it ` +
            `(if no such run exists, remove ${file})`,
        );
      await rm(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`${file}: could not take the lock`);
}
