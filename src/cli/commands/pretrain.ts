// `wish pretrain`: pretrain a CPU config's backbone on image-level tags of synthetic scenes (the stand-in
// for ImageNet weights; src/train/pretrain.ts) and write it where run configs' backboneWeights can read it.
import path from 'node:path';
import type { Command } from 'commander';
import * as torch from '../../engine/index.ts';
import { parseClasses } from '../../data/synth/index.ts';
import { PRETRAIN_DEFAULTS, pretrainBackbone } from '../../train/pretrain.ts';
import { withInterrupt } from '../interrupt.ts';

function num(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0)
      throw new Error(`${name} must be a non-negative ${integer ? 'integer' : 'number'}, got "${v}"`);
    return n;
  };
}

interface PretrainFlags {
  model: string;
  out: string;
  work?: string;
  iterations: number;
  batchSize: number;
  lr: number;
  seed: number;
  classes: string;
  evalScenes: number;
  threads?: number;
  resume?: boolean;
  progress: boolean;
}

export function register(program: Command): Command {
  return program
    .command('pretrain')
    .description(
      "pretrain a CPU config's backbone on image-level tags of synthetic scenes (stand-in for ImageNet weights)",
    )
    .option('--model <name>', 'shipped model config whose backbone is trained', PRETRAIN_DEFAULTS.model)
    .option(
      '--out <file>',
      'backbone weights to write (safetensors)',
      'models/backbone/cpu-small.safetensors',
    )
    .option('--work <dir>', 'folder for the resumable checkpoint (default: runs/pretrain-<model>)')
    .option(
      '--iterations <n>',
      'training iterations',
      num('--iterations', true),
      PRETRAIN_DEFAULTS.iterations,
    )
    .option(
      '--batch-size <n>',
      'scenes per iteration',
      num('--batch-size', true),
      PRETRAIN_DEFAULTS.batchSize,
    )
    .option('--lr <x>', 'peak AdamW learning rate (cosine decay)', num('--lr'), PRETRAIN_DEFAULTS.lr)
    .option(
      '--seed <k>',
      'seed of the scene stream and the initialisation',
      num('--seed', true),
      PRETRAIN_DEFAULTS.seed,
    )
    .option('--classes <list>', 'shape classes to tag', PRETRAIN_DEFAULTS.classes.join(','))
    .option(
      '--eval-scenes <n>',
      'held-out scenes for the final per-class AP',
      num('--eval-scenes', true),
      PRETRAIN_DEFAULTS.evalScenes,
    )
    .option('--threads <n>', 'intra-op threads (1 is fastest on a busy machine)', num('--threads', true))
    .option('--resume', 'continue from the checkpoint in --work')
    .option('--no-progress', 'no progress bar')
    .action(async (f: PretrainFlags) => {
      if (f.threads) torch.setNumThreads(f.threads);
      const work = f.work ?? path.join('runs', `pretrain-${f.model}`);
      const { value: r } = await withInterrupt('wish pretrain', (signal) =>
        pretrainBackbone({
          model: f.model,
          out: f.out,
          workDir: work,
          iterations: f.iterations,
          batchSize: f.batchSize,
          lr: f.lr,
          weightDecay: PRETRAIN_DEFAULTS.weightDecay,
          seed: f.seed,
          classes: parseClasses(f.classes),
          checkpointEvery: PRETRAIN_DEFAULTS.checkpointEvery,
          evalScenes: f.evalScenes,
          resume: f.resume,
          progress: f.progress,
          signal,
        }),
      );
      if (r.interrupted || !r.eval) return;
      const last = r.losses.slice(-100);
      console.log(
        `iterations ${r.iterations}, ${r.seconds.toFixed(0)} s, final training loss (mean of last ${last.length}) ${(last.reduce((s, x) => s + x, 0) / Math.max(1, last.length)).toFixed(4)}`,
      );
      console.log(
        `held-out (${f.evalScenes} scenes): BCE ${r.eval.bce.toFixed(4)}, mean AP ${(100 * r.eval.meanAp).toFixed(1)}`,
      );
      for (const [c, ap] of Object.entries(r.eval.perClass))
        console.log(`  ${c.padEnd(9)} AP ${(100 * ap).toFixed(1)}`);
      console.log(`wrote ${f.out}`);
    });
}
