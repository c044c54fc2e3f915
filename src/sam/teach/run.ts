// What `wish teach train` and `wish teach eval` do, callable without the CLI: train (or resume), write the
// shipped files (teacher.safetensors + teacher.json), evaluate on held-out scenes and write the report.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { loadSam } from '../build.ts';
import type { Sam } from '../sam.ts';
import { evaluateTeacher, type TeacherEval } from './evaluate.ts';
import { exportTeacher } from './export.ts';
import type { TeachOptions } from './options.ts';
import { teach } from './train.ts';

export const WEIGHTS_FILE = 'teacher.safetensors';
export const CONFIG_FILE = 'teacher.json';
export const EVAL_FILE = 'teacher-eval.json';

export interface EvalSettings {
  seed: number;
  scenes: number;
  /** Scene sides to evaluate at (one report per size). */
  sizes: number[];
  progress?: boolean;
}

export function evaluateWithBar(sam: Sam, e: EvalSettings): TeacherEval[] {
  const out: TeacherEval[] = [];
  for (const size of e.sizes) {
    const bar = new cliProgress.SingleBar(
      {
        format: `teach eval ${size}px |{bar}| {value}/{total} scenes | ETA {eta_formatted}`,
        stream: process.stderr,
        noTTYOutput: !process.stderr.isTTY,
        notTTYSchedule: 10000,
      },
      cliProgress.Presets.shades_classic,
    );
    const show = e.progress ?? true;
    if (show) bar.start(e.scenes, 0);
    try {
      out.push(
        evaluateTeacher(sam, { seed: e.seed, scenes: e.scenes, size, onScene: (i) => show && bar.update(i) }),
      );
    } finally {
      if (show) bar.stop();
    }
  }
  return out;
}

export function formatEval(r: TeacherEval[]): string {
  return r
    .map(
      (e) =>
        `${e.size}px, ${e.scenes} scenes, ${e.instances} instances: point IoU ${e.pointIou.toFixed(3)} ` +
        `(best of 3 by predicted IoU), ${e.pointOracleIou.toFixed(3)} (oracle best of 3); ` +
        `box IoU ${e.boxIou.toFixed(3)} (single mask), ${e.boxMultimaskIou.toFixed(3)} (multimask, predicted best)`,
    )
    .join('\n');
}

async function writeJson(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n');
  await rename(tmp, path);
}

export interface TrainAndShip {
  out: string;
  /** Where teacher.safetensors / teacher.json / teacher-eval.json go (default: out). */
  ship?: string;
  options?: Partial<TeachOptions>;
  resume?: boolean;
  evalScenes: number;
  evalSizes: number[];
  progress?: boolean;
  log?: (s: string) => void;
}

export async function trainAndShip(
  r: TrainAndShip,
): Promise<{ eval: TeacherEval[]; seconds: number; step: number }> {
  const log = r.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const res = await teach({ out: r.out, options: r.options, resume: r.resume, progress: r.progress, log });
  const ship = r.ship ?? r.out;
  const weights = join(ship, WEIGHTS_FILE);
  const cfgPath = join(ship, CONFIG_FILE);
  try {
    if (res.step < res.options.steps) {
      log(`teach: stopped at step ${res.step} of ${res.options.steps}; nothing shipped (resume to finish)`);
      return { eval: [], seconds: res.seconds, step: res.step };
    }
    await exportTeacher(res.sam, res.config, weights, cfgPath, {
      steps: res.step,
      train_seconds: Math.round(res.seconds),
      options: res.options,
    });
    log(`teach: wrote ${weights} and ${cfgPath}`);
    // Evaluate the shipped files as a user loads them, not the in-memory model.
    const loaded = await loadSam(weights, { config: cfgPath });
    try {
      const ev = evaluateWithBar(loaded, {
        seed: res.options.evalSeed,
        scenes: r.evalScenes,
        sizes: r.evalSizes,
        progress: r.progress,
      });
      await writeJson(join(ship, EVAL_FILE), {
        steps: res.step,
        trainSeconds: Math.round(res.seconds),
        eval: ev,
      });
      log(formatEval(ev));
      return { eval: ev, seconds: res.seconds, step: res.step };
    } finally {
      loaded.dispose?.();
    }
  } finally {
    res.sam.dispose?.();
  }
}
