// `wish predict --checkpoint FILE --images DIR|FILE... --out DIR`: instance masks for images, written as
// COCO results (compressed RLE) and overlay PNGs.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadCocoJson } from '../../data/coco/index.ts';
import { imageIdsFromGt, predictFiles } from '../../train/predict.ts';

interface PredictCliOptions {
  checkpoint: string;
  images: string[];
  out: string;
  scoreThreshold: string;
  gt?: string;
  device: string;
}

const EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff']);

async function listImages(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of inputs) {
    const s = await stat(p).catch(() => null);
    if (!s) throw new Error(`--images: ${p} does not exist`);
    if (s.isDirectory()) {
      const names = (await readdir(p)).filter((n) => EXT.has(path.extname(n).toLowerCase())).sort();
      files.push(...names.map((n) => path.join(p, n)));
    } else files.push(p);
  }
  if (files.length === 0) throw new Error(`--images: no image files in ${inputs.join(', ')}`);
  return files;
}

async function runPredict(opts: PredictCliOptions): Promise<void> {
  const minScore = Number(opts.scoreThreshold);
  if (!(minScore >= 0 && minScore <= 1))
    throw new Error(`--score-threshold must be in [0, 1], got ${opts.scoreThreshold}`);
  const files = await listImages(opts.images);
  const bar = new SingleBar(
    { format: 'predict [{bar}] {value}/{total} | {eta_formatted} left' },
    Presets.shades_classic,
  );
  bar.start(files.length, 0);
  const r = await predictFiles({
    checkpoint: opts.checkpoint,
    files,
    outDir: opts.out,
    minScore,
    imageIds: opts.gt ? imageIdsFromGt(await loadCocoJson(opts.gt)) : undefined,
    onImage: (done) => bar.update(done),
    device: opts.device,
  });
  bar.stop();
  console.log(
    `${r.results.length} instances on ${files.length} images -> ${r.resultsFile} (ids in ${r.imagesFile}, overlays in ${r.overlayDir})`,
  );
}

export function register(program: Command): Command {
  return program
    .command('predict')
    .description('predict instance masks with a trained WISH checkpoint')
    .requiredOption('--checkpoint <file>', 'checkpoint.safetensors written by wish train')
    .requiredOption('--images <paths...>', 'image files or folders')
    .requiredOption('--out <dir>', 'output folder: results.json + overlays/')
    .option('--score-threshold <s>', 'drop instances scoring below this', '0.3')
    .option('--device <device>', "'cpu' or 'cuda'", 'cpu')
    .option(
      '--gt <coco.json>',
      'take image ids from this COCO file (by file name), e.g. to run wish eval after',
    )
    .action(async (opts: PredictCliOptions) => runPredict(opts));
}
