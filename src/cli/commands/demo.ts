// `wish demo [--out DIR] [--seed S] [--json] [--threads N] [--iterations N]`: the whole method end to end
// on synthetic scenes with the shipped teacher (src/pipeline/demo.ts), resumable after Ctrl-C.
import { Option, type Command } from 'commander';
import { parseMix } from '../../data/weak/budget.ts';
import { ExperimentStopped, formatTimes } from '../../pipeline/experiment.ts';
import { withInterrupt } from '../interrupt.ts';
import { runDemo, type DemoSummary } from '../../pipeline/demo.ts';
import { STAT_KEYS } from '../../eval/types.ts';

interface DemoCliOptions {
  out: string;
  seed: number;
  json?: boolean;
  threads: number;
  device: string;
  iterations?: number;
  force?: boolean;
  progress: boolean;
  config?: string;
  trainImages?: number;
  valImages?: number;
  size?: number;
  budget?: number;
  mix?: string;
  overlays?: number;
  scoreThreshold?: number;
}

function int(name: string, min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min)
      throw new Error(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** The command line as typed, quoted for a POSIX shell, so the report can say how to rerun it. */
function commandLine(): string {
  const q = (a: string): string => (/^[\w./=,:@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['node', 'bin/wish.js', ...process.argv.slice(2)].map(q).join(' ');
}

function printHuman(s: DemoSummary): void {
  console.log(`mask AP on ${s.out}: ${(100 * s.AP).toFixed(2)} after ${s.iterations} iterations`);
  // -1: no ground truth in that area range (COCOeval's convention).
  for (const k of STAT_KEYS)
    console.log(`  ${k.padEnd(6)} ${(s.stats[k] < 0 ? '-' : (100 * s.stats[k]).toFixed(2)).padStart(7)}`);
  for (const l of formatTimes(s.times)) console.log(l);
  for (const [k, v] of Object.entries(s.secondsByStage))
    console.log(`  ${k.padEnd(10)} ${v.toFixed(1).padStart(8)} s`);
  console.log(`${s.seconds.toFixed(1)} s in all; report: ${s.report}`);
}

export function register(program: Command): Command {
  const hidden = (flags: string, desc: string, parse?: (v: string) => unknown): Option => {
    const opt = new Option(flags, desc).hideHelp();
    return parse ? opt.argParser(parse) : opt;
  };
  return program
    .command('demo')
    .description(
      'synthetic scenes -> weak labels (tags, points, boxes) -> prepare with the shipped teacher -> train -> ' +
        'evaluate -> overlays and an HTML report; rerun the same command to continue after Ctrl-C',
    )
    .option('--out <dir>', 'output folder', 'runs/demo')
    .option('--seed <s>', 'seed of the scenes and the weak labels', int('--seed', 0), 0)
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .option(
      '--threads <n>',
      'intra-op threads (1 is fastest on a busy 2-core machine)',
      int('--threads', 1),
      1,
    )
    .option(
      '--iterations <n>',
      "train this many iterations instead of the config's (quick looks)",
      int('--iterations', 1),
    )
    .option('--device <device>', "'cpu' or 'cuda' (SAM and the student)", 'cpu')
    .option('--force', 'start over where --out holds data or a run made with other settings')
    .option('--no-progress', 'no progress bars')
    .addOption(hidden('--config <file>', 'run config (default configs/demo.json)'))
    .addOption(hidden('--train-images <n>', 'training scenes', int('--train-images', 1)))
    .addOption(hidden('--val-images <n>', 'val scenes', int('--val-images', 1)))
    .addOption(hidden('--size <px>', 'scene size', int('--size', 16)))
    .addOption(hidden('--budget <units>', 'annotation budget', int('--budget', 1)))
    .addOption(hidden('--mix <tag=..,point=..,box=..>', 'budget fractions per kind'))
    .addOption(hidden('--overlays <n>', 'val scenes drawn in the report', int('--overlays', 1)))
    .addOption(
      hidden('--score-threshold <s>', 'draw instances scoring at least this', (v: string) => {
        const x = Number(v);
        if (v.trim() === '' || !(x >= 0 && x <= 1))
          throw new Error(`--score-threshold must be in [0, 1], got "${v}"`);
        return x;
      }),
    )
    .action(async (o: DemoCliOptions) => {
      // Ctrl-C: training stops after its current iteration with a checkpoint (a second Ctrl-C quits at once,
      // still safe: every file is written to a temp name and renamed); the same command continues.
      const { value: s } = await withInterrupt('wish demo', async (signal) => {
        try {
          return await runDemo({
            out: o.out,
            seed: o.seed,
            threads: o.threads,
            device: o.device,
            iterations: o.iterations,
            force: o.force,
            progress: o.progress,
            command: commandLine(),
            config: o.config,
            trainImages: o.trainImages,
            valImages: o.valImages,
            size: o.size,
            budget: o.budget,
            mix: o.mix === undefined ? undefined : parseMix(o.mix),
            overlays: o.overlays,
            scoreThreshold: o.scoreThreshold,
            signal,
          });
        } catch (e) {
          if (!(e instanceof ExperimentStopped)) throw e;
          process.stderr.write(
            `wish demo: interrupted at training iteration ${e.iteration} of ${e.iterations}; ` +
              `run the same command again to continue where it stopped\n`,
          );
          return null;
        }
      });
      if (s === null) {
        process.exitCode = 130;
        return;
      }
      if (o.json) console.log(JSON.stringify(s));
      else printHuman(s);
    });
}
