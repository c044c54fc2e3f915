// `wish train --config FILE [--resume] [--out DIR] [--device cuda]`: the WISH trainer (src/train/trainer.ts).
import path from 'node:path';
import type { Command } from 'commander';
import { loadRunConfig } from '../../train/config.ts';
import { setupRunData } from '../../train/setup.ts';
import { CHECKPOINT_FILE, CURVES_FILE, hasCheckpoint, METRICS_FILE, train } from '../../train/trainer.ts';
import { TIME_KEYS } from '../../train/metrics.ts';
import { withInterrupt } from '../interrupt.ts';

interface TrainCliOptions {
  config: string;
  resume?: boolean;
  out?: string;
  device?: string;
}

async function runTrain(opts: TrainCliOptions): Promise<void> {
  const config = await loadRunConfig(opts.config);
  if (opts.device) config.device = opts.device; // over the config's `device`
  const outDir = path.resolve(opts.out ?? path.join('runs', path.basename(opts.config, '.json')));
  if (opts.resume && !(await hasCheckpoint(outDir))) {
    throw new Error(`--resume: no ${CHECKPOINT_FILE} in ${outDir}`);
  }
  const data = await setupRunData(config);
  console.error(`teacher: ${data.teacherName}`);
  const { value: r } = await withInterrupt('wish train', (signal) =>
    train({ config, outDir, ...data, resume: opts.resume, signal }),
  );
  if (r.interrupted) {
    console.error(
      `interrupted at iteration ${r.lastIteration}/${config.iterations}; checkpoint saved. Continue with: wish train --config ${opts.config} --out ${outDir} --resume`,
    );
  }
  const t = r.times;
  console.log(
    `iterations: ${r.lastIteration}/${config.iterations}, final loss ${r.losses.at(-1)?.toFixed(4) ?? '-'}`,
  );
  for (const e of r.evals)
    console.log(`mask AP @ ${e.iteration}: ${(100 * e.ap).toFixed(2)} (AP50 ${(100 * e.ap50).toFixed(2)})`);
  console.log(`time per iteration: ${t.totalMs.toFixed(1)} ms`);
  for (const k of TIME_KEYS) {
    console.log(
      `  ${k.padEnd(10)} ${t.meanMs[k].toFixed(1).padStart(8)} ms  ${(100 * t.share[k]).toFixed(1).padStart(5)}%`,
    );
  }
  console.log(`wrote ${path.join(outDir, CHECKPOINT_FILE)}, ${METRICS_FILE}, ${CURVES_FILE}`);
}

export function register(program: Command): Command {
  return program
    .command('train')
    .description('train the WISH student from weak labels with SAM as teacher')
    .requiredOption('--config <file>', 'run config JSON (see configs/)')
    .option('--resume', 'continue from the checkpoint in the output folder')
    .option('--out <dir>', 'output folder (default runs/<config name>)')
    .option('--device <device>', "'cpu' or 'cuda' (default: the config's device)")
    .action(async (opts: TrainCliOptions) => runTrain(opts));
}
