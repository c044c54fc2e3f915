// What an experiment reads back from a training run folder (written by src/train/trainer.ts): how far the
// checkpoint got (from the safetensors header only, no tensors loaded), the per-iteration time breakdown
// over every call that trained it, and the final evaluation's 12 COCO stats.
import { readFile } from 'node:fs/promises';
import { SafetensorsFile } from '../engine/io/safetensors.ts';
import { STAT_KEYS, type Stats } from '../eval/types.ts';
import { summarizeTimes, TIME_KEYS, type CurvePoint, type StepTimes } from '../train/metrics.ts';

/** The iteration a `wish train` checkpoint was saved at, or null when there is no checkpoint. */
export async function checkpointIteration(file: string): Promise<number | null> {
  let f: SafetensorsFile;
  try {
    f = await SafetensorsFile.open(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const text = f.metadata.train;
    const it = text === undefined ? undefined : (JSON.parse(text) as { iteration?: unknown }).iteration;
    if (typeof it !== 'number' || !Number.isInteger(it) || it < 0)
      throw new Error(`${file}: not a wish train checkpoint (no train.iteration in its metadata)`);
    return it;
  } finally {
    await f.close();
  }
}

interface MetricsLine {
  kind?: string;
  iteration?: number;
  loss?: number;
  maskAP?: number;
  timesMs?: Partial<StepTimes>;
  stats?: Record<string, number>;
}

export async function readMetrics(file: string): Promise<MetricsLine[]> {
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const lines = text.split('\n');
  const out: MetricsLine[] = [];
  lines.forEach((l, i) => {
    if (l.trim() === '') return;
    try {
      out.push(JSON.parse(l) as MetricsLine);
    } catch {
      // A torn last line (killed mid-append) is what the trainer rewrites away on resume; tolerate it here.
      if (i < lines.length - 2) throw new Error(`${file}: line ${i + 1} is not JSON`);
    }
  });
  return out;
}

/** Mean ms per phase over every logged training iteration (a resumed run's earlier calls included). */
export function iterationTimes(lines: MetricsLine[]): ReturnType<typeof summarizeTimes> {
  const rows: StepTimes[] = [];
  for (const l of lines) {
    if (l.kind !== 'train' || !l.timesMs) continue;
    const t = l.timesMs;
    rows.push(Object.fromEntries(TIME_KEYS.map((k) => [k, t[k] ?? 0])) as StepTimes);
  }
  return summarizeTimes(rows);
}

/** The 12 stats of the last eval logged at `iteration`, or null when there is none with all 12. */
export function finalStats(lines: MetricsLine[], iteration: number): Stats | null {
  const ev = lines.filter((l) => l.kind === 'eval' && l.iteration === iteration).at(-1);
  return ev?.stats && STAT_KEYS.every((k) => typeof ev.stats![k] === 'number')
    ? completeStats(ev.stats)
    : null;
}

/** Picks the 12 COCO stats from an evaluator's record; missing keys must not be papered over. */
export function completeStats(s: Record<string, number>): Stats {
  const missing = STAT_KEYS.filter((k) => typeof s[k] !== 'number');
  if (missing.length > 0) throw new Error(`evaluation stats lack ${missing.join(', ')}`);
  return Object.fromEntries(STAT_KEYS.map((k) => [k, s[k]])) as Stats;
}

/** The loss and val AP curves the trainer draws, rebuilt from its metrics lines. */
export function curvesFromMetrics(lines: MetricsLine[]): { loss: CurvePoint[]; ap: CurvePoint[] } {
  const pts = (kind: string, key: 'loss' | 'maskAP'): CurvePoint[] =>
    lines
      .filter((l) => l.kind === kind && typeof l.iteration === 'number' && typeof l[key] === 'number')
      .map((l) => ({ iteration: l.iteration!, value: l[key]! }));
  return { loss: pts('train', 'loss'), ap: pts('eval', 'maskAP') };
}
