// `wish budget run`: train one experiment per label mix of a fixed-budget sweep (paper Table 3) and write
// DIR/table.md, DIR/table.json, DIR/plot.png; resumable through DIR/sweep.json (src/pipeline/sweep.ts).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parseCosts, parsePair } from '../../data/weak/budget.ts';
import { runExperiment } from '../../pipeline/experiment.ts';
import { runSweep, SweepStopped } from '../../pipeline/sweep.ts';
import { withInterrupt } from '../interrupt.ts';
import { loadRunConfig } from '../../train/config.ts';
import { budgetGroup } from './budget.ts';

function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n <= 0)
      throw new Error(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

function nonNegInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < 0)
      throw new Error(`${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
}

interface RunOpts {
  data: string;
  images?: string;
  valData: string;
  valImages?: string;
  config: string;
  sam: string;
  samConfig?: string;
  budget: number;
  costs: string;
  pairs: string;
  steps: number;
  grain?: number;
  withinBudget?: boolean;
  seed: number;
  threads?: number;
  out: string;
  force?: boolean;
  progress: boolean;
  json?: boolean;
}

export function register(program: Command): Command {
  return budgetGroup(program)
    .command('run')
    .description(
      'run a fixed-budget sweep: one training run per label mix of each pair, then a Table-3-like table and a plot',
    )
    .requiredOption(
      '--data <coco.json>',
      'fully annotated COCO JSON (masks) the weak labels are derived from',
    )
    .option('--images <dir>', "folder the --data file_names resolve against (default: the JSON's folder)")
    .requiredOption('--val-data <coco.json>', 'COCO ground truth to measure mask AP on')
    .option(
      '--val-images <dir>',
      "folder the --val-data file_names resolve against (default: the JSON's folder)",
    )
    .requiredOption(
      '--config <run.json>',
      'run config (e.g. configs/cpu-small.json); its data section is ignored',
    )
    .requiredOption('--sam <checkpoint>', 'SAM teacher weights (e.g. models/teacher/teacher.safetensors)')
    .option(
      '--sam-config <json>',
      'SAM config JSON for what the weights do not say (models/teacher/teacher.json)',
    )
    .requiredOption('--budget <zeta>', 'total budget in cost units', positiveInt('--budget'))
    .option('--costs <t,p,b>', 'cost of a tag, point and box image', '1,6,12')
    .option(
      '--pairs <list>',
      'pairs of kinds to sweep, comma-separated: tag-box, tag-point, point-box',
      'tag-box',
    )
    .option(
      '--steps <K>',
      'mixes per pair, endpoints included (as in budget plan)',
      positiveInt('--steps'),
      5,
    )
    .option('--grain <units>', 'as in budget plan (default: point cost)', Number)
    .option('--within-budget', "endpoints use floor(zeta/cost) instead of the paper's round(zeta/cost)")
    .option(
      '--seed <n>',
      'seed of weaken (which images get which kind); training uses the config seed',
      nonNegInt('--seed'),
      0,
    )
    .option('--threads <n>', 'intra-op threads (1 is fastest on a busy machine)', positiveInt('--threads'))
    .requiredOption('--out <dir>', 'sweep folder: sweep.json, points/<mix>/, table.md, table.json, plot.png')
    .option('--force', 'start over if --out holds a sweep made with other inputs')
    .option('--no-progress', 'no progress bars (the per-point lines stay)')
    .option('--json', 'also print the table (rows and verdicts) as one JSON object on the last line')
    .action(async (o: RunOpts) => {
      const costs = parseCosts(o.costs);
      const pairs = o.pairs
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')
        .map((s) => {
          try {
            return parsePair(s);
          } catch {
            throw new Error(
              `--pairs: "${s}" is not a pair; give kinds joined by "-", comma-separated (tag-box,tag-point,point-box)`,
            );
          }
        });
      if (o.grain !== undefined && !(o.grain > 0)) throw new Error(`--grain must be a positive number`);
      const runConfig = await loadRunConfig(o.config);
      const out = path.resolve(o.out);
      const { value: r } = await withInterrupt('wish budget run', (signal) =>
        runSweep(
          {
            data: o.data,
            images: o.images,
            val: { annotations: o.valData, images: o.valImages ?? path.dirname(path.resolve(o.valData)) },
            configFile: o.config,
            runConfig,
            sam: { checkpoint: o.sam, config: o.samConfig },
            budget: o.budget,
            costs,
            pairs,
            steps: o.steps,
            grain: o.grain,
            endpoints: o.withinBudget ? 'floor' : 'round',
            seed: o.seed,
            threads: o.threads,
            outDir: out,
            force: o.force,
            progress: o.progress,
            signal,
          },
          runExperiment,
        ).catch((e: unknown) => {
          if (e instanceof SweepStopped) {
            process.stderr.write(`${e.message}\n`);
            return null;
          }
          throw e;
        }),
      );
      if (r === null) return; // withInterrupt set exit code 130
      console.log(await readFile(r.files.markdown, 'utf8'));
      console.log(
        `budget run: ${r.plan.points.length} points (${r.ran.length} trained now, ${r.skipped.length} done earlier)`,
      );
      for (const p of r.table.pairs) console.log(p.verdict.text);
      console.log(`wrote ${r.files.markdown}, ${r.files.json}, ${r.files.plot} (state: ${r.files.state})`);
      if (o.json)
        console.log(JSON.stringify({ pairs: r.table.pairs, budget: r.table.budget, costs: r.table.costs }));
    });
}
