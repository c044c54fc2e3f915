// `wish teach`: train the small SAM-architecture teacher on the synthetic dataset's full masks (SAM's
// prompt recipe), ship it as safetensors with official key names + a config JSON, and measure its mean
// IoU against the true masks on held-out scenes. `wish teach eval` measures any SAM checkpoint the same way.
import type { Command } from 'commander';
import * as torch from '../../engine/index.ts';
import { loadSam } from '../../sam/build.ts';
import { TEACH_DEFAULTS, type TeachOptions } from '../../sam/teach/options.ts';
import { evaluateWithBar, formatEval, trainAndShip } from '../../sam/teach/run.ts';

function num(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
      throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
    return n;
  };
}
const intList =
  (name: string) =>
  (v: string): number[] =>
    v.split(',').map((s) => num(name, true)(s));

interface TrainFlags {
  out: string;
  ship?: string;
  resume?: boolean;
  steps: number;
  imagesPerStep: number;
  promptsPerImage: number;
  sizes: number[];
  lr: number;
  warmup: number;
  seed: number;
  evalSeed: number;
  evalScenes: number;
  evalSizes: number[];
  checkpointEvery: number;
  threads?: number;
  loss: 'bce' | 'focal';
  init?: string;
  progress: boolean;
}

export function register(program: Command): void {
  const teach = program
    .command('teach')
    .description(
      'train / evaluate the small SAM-architecture teacher on synthetic scenes (offline demo teacher)',
    );

  teach
    .command('train')
    .description(
      'train the teacher on synthetic full masks with SAM prompts; resumable; ships safetensors + config',
    )
    .requiredOption('--out <dir>', 'run folder: training checkpoint, metrics.jsonl (and the shipped files)')
    .option(
      '--ship <dir>',
      'where teacher.safetensors, teacher.json and teacher-eval.json go (default: --out)',
    )
    .option('--resume', 'continue the checkpoint in --out (same settings required)')
    .option('--steps <n>', 'optimiser steps', num('--steps', true), TEACH_DEFAULTS.steps)
    .option(
      '--images-per-step <n>',
      'scenes per step',
      num('--images-per-step', true),
      TEACH_DEFAULTS.imagesPerStep,
    )
    .option(
      '--prompts-per-image <n>',
      'instances prompted per scene',
      num('--prompts-per-image', true),
      TEACH_DEFAULTS.maxPromptsPerImage,
    )
    .option('--sizes <list>', 'scene sides, cycled per step', intList('--sizes'), TEACH_DEFAULTS.sizes)
    .option('--lr <x>', 'AdamW learning rate', num('--lr'), TEACH_DEFAULTS.lr)
    .option('--warmup <n>', 'linear warm-up steps', num('--warmup', true), TEACH_DEFAULTS.warmupSteps)
    .option('--loss <kind>', "pixel loss beside dice: 'bce' (1:1) or 'focal' (SAM's 20:1)", 'bce')
    .option('--seed <k>', 'seed of the training scenes and weights', num('--seed', true), TEACH_DEFAULTS.seed)
    .option(
      '--eval-seed <k>',
      'seed of the held-out scenes',
      num('--eval-seed', true),
      TEACH_DEFAULTS.evalSeed,
    )
    .option('--eval-scenes <n>', 'held-out scenes to evaluate', num('--eval-scenes', true), 100)
    .option('--eval-sizes <list>', 'scene sides to evaluate at', intList('--eval-sizes'), [128, 96])
    .option('--checkpoint-every <n>', 'steps between checkpoints', num('--checkpoint-every', true), 50)
    .option('--threads <n>', 'intra-op threads (1 is fastest on a busy machine)', num('--threads', true))
    .option('--init <weights>', 'start from these SAM weights (an earlier teacher) instead of a random init')
    .option('--no-progress', 'no progress bar')
    .action(async (f: TrainFlags) => {
      if (f.loss !== 'bce' && f.loss !== 'focal')
        throw new Error(`--loss must be bce or focal, got "${f.loss}"`);
      const options: Partial<TeachOptions> = {
        steps: f.steps,
        imagesPerStep: f.imagesPerStep,
        maxPromptsPerImage: f.promptsPerImage,
        sizes: f.sizes,
        lr: f.lr,
        warmupSteps: f.warmup,
        seed: f.seed,
        evalSeed: f.evalSeed,
        checkpointEvery: f.checkpointEvery,
        threads: f.threads,
        pixelLoss: f.loss,
        init: f.init,
        ...(f.loss === 'focal' ? { pixelWeight: 20, diceWeight: 1 } : {}),
      };
      await trainAndShip({
        out: f.out,
        ship: f.ship,
        options,
        resume: f.resume,
        evalScenes: f.evalScenes,
        evalSizes: f.evalSizes,
        progress: f.progress,
      });
    });

  teach
    .command('eval')
    .description('mean IoU of a SAM checkpoint against the true masks of held-out synthetic scenes')
    .requiredOption('--checkpoint <file>', 'SAM weights (.pth or safetensors)')
    .option('--config <json>', 'SAM config JSON (e.g. teacher.json)')
    .option('--seed <k>', 'seed of the scenes', num('--seed', true), TEACH_DEFAULTS.evalSeed)
    .option('--scenes <n>', 'scenes', num('--scenes', true), 100)
    .option('--sizes <list>', 'scene sides', intList('--sizes'), [128, 96])
    .option('--json', 'print the result as one JSON line')
    .option('--threads <n>', 'intra-op threads (1 is fastest on a busy machine)', num('--threads', true))
    .action(
      async (f: {
        checkpoint: string;
        config?: string;
        seed: number;
        scenes: number;
        sizes: number[];
        json?: boolean;
        threads?: number;
      }) => {
        if (f.threads) torch.setNumThreads(f.threads);
        const sam = await loadSam(f.checkpoint, { config: f.config });
        try {
          const ev = evaluateWithBar(sam, { seed: f.seed, scenes: f.scenes, sizes: f.sizes });
          process.stdout.write(f.json ? `${JSON.stringify(ev)}\n` : `${formatEval(ev)}\n`);
        } finally {
          sam.dispose();
        }
      },
    );
}
