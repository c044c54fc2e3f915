// `wish sam ...`: the SAM teacher from the command line. `wish sam predict` runs one prompt set on one
// image and writes every tensor of the way as raw little-endian files plus a manifest (the fixture's
// format) and an overlay PNG.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';

import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { loadImage, savePng, writeFileAtomic } from '../../data/image/io.ts';
import { loadSam } from '../../sam/build.ts';
import { drawMaskOverlay } from '../../sam/overlay.ts';
import { SamPredictor } from '../../sam/predictor.ts';
import { registerSamEmbed } from './sam-embed.ts';

interface PredictOpts {
  checkpoint: string;
  config?: string;
  image: string;
  points?: string;
  box?: string;
  multimask?: boolean;
  out: string;
  device: string;
}

/** "x,y,label;x,y,label" -> [[x, y, label], ...]; labels 1 (foreground), 0 (background) or -1 (ignored). */
export function parsePoints(text: string): [number, number, number][] {
  const items = text.split(';').filter((s) => s.trim() !== '');
  if (items.length === 0)
    throw new Error(`--points: no points in "${text}" (expected "x,y,label;x,y,label")`);
  return items.map((item, i) => {
    const parts = item.split(',').map((s) => s.trim());
    const v = parts.map(Number);
    if (parts.length !== 3 || parts.some((p) => p === '') || v.some((n) => !Number.isFinite(n))) {
      throw new Error(`--points: point ${i + 1} "${item}" is not x,y,label (three numbers)`);
    }
    if (v[2] !== 0 && v[2] !== 1 && v[2] !== -1) {
      throw new Error(
        `--points: point ${i + 1} has label ${v[2]}; labels are 1 (foreground), 0 (background), -1`,
      );
    }
    return [v[0], v[1], v[2]];
  });
}

/** "x0,y0,x1,y1" -> the box, with x0 <= x1 and y0 <= y1. */
export function parseBox(text: string): [number, number, number, number] {
  const parts = text.split(',').map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.length !== 4 || parts.some((p) => p === '') || v.some((n) => !Number.isFinite(n))) {
    throw new Error(`--box: "${text}" is not x0,y0,x1,y1 (four numbers)`);
  }
  if (v[2] < v[0] || v[3] < v[1]) throw new Error(`--box: "${text}" has x1 < x0 or y1 < y0`);
  return [v[0], v[1], v[2], v[3]];
}

interface ManifestEntry {
  file: string;
  dtype: 'float32' | 'uint8';
  shape: number[];
}

/** Writes each tensor as `<name>.bin` (raw little-endian, C order) and returns the manifest entries. */
async function writeTensors(
  dir: string,
  tensors: Record<string, Tensor>,
): Promise<Record<string, ManifestEntry>> {
  const entries: Record<string, ManifestEntry> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = t.dtype === 'bool' || t.dtype === 'uint8' ? 'uint8' : 'float32';
    const bytes = t.to(dtype).cpu().toBuffer();
    const file = `${name}.bin`;
    await writeFileAtomic(join(dir, file), bytes);
    entries[name] = { file, dtype, shape: t.shape };
  }
  return entries;
}

async function runPredict(opts: PredictOpts): Promise<void> {
  // Prompts are checked before the (slow) model load.
  const points = opts.points !== undefined ? parsePoints(opts.points) : null;
  const box = opts.box !== undefined ? parseBox(opts.box) : null;
  if (!points && !box) throw new Error('sam predict: give --points and/or --box');
  const multimask = opts.multimask ?? false;

  const say = (msg: string): void => void process.stderr.write(`${msg}\n`);
  let t0 = performance.now();
  const lap = (): string => {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    t0 = performance.now();
    return `${s} s`;
  };
  const sam = await loadSam(opts.checkpoint, { config: opts.config, device: opts.device });
  const predictor = new SamPredictor(sam);
  try {
    const cfg = sam.config;
    say(
      `loaded ${opts.checkpoint} (encoder ${cfg?.encoderEmbedDim}x${cfg?.encoderDepth}, input ${sam.imgSize}) in ${lap()}`,
    );
    const img = await loadImage(opts.image);
    for (const [x, y] of [...(points ?? []), ...(box ? [box.slice(0, 2), box.slice(2)] : [])]) {
      if (x < 0 || y < 0 || x > img.width || y > img.height) {
        say(`warning: prompt (${x}, ${y}) lies outside the ${img.width}x${img.height} image`);
      }
    }
    say(`encoding ${opts.image} (${img.width}x${img.height}) ...`);
    predictor.setRgbImage(img);
    say(`encoded in ${lap()}`);
    const prompt = {
      pointCoords: points ? points.map(([x, y]) => [x, y]) : null,
      pointLabels: points ? points.map(([, , l]) => l) : null,
      box,
      multimaskOutput: multimask,
    };
    const files = torch.tidy(() => {
      const r = predictor.predict({ ...prompt, returnLogits: true });
      const { sparse, dense } = predictor.promptEmbeddings(prompt);
      return {
        image_embeddings: predictor.getImageEmbedding(),
        sparse_embeddings: sparse,
        dense_embeddings: dense,
        low_res_logits: r.lowResLogits,
        iou_predictions: r.iouPredictions,
        mask_logits: r.masks,
        masks: r.masks.gt(sam.maskThreshold),
        stability_scores: r.stabilityScores,
      };
    });
    say(`decoded in ${lap()}`);
    try {
      await mkdir(opts.out, { recursive: true });
      const tensors = await writeTensors(opts.out, files);
      const k = files.masks.size(0);
      const overlay = drawMaskOverlay(img, files.masks.to('uint8').toTypedArray() as Uint8Array, k, {
        points: points ?? [],
        box,
      });
      await savePng(join(opts.out, 'overlay.png'), overlay);
      const manifest = {
        format: 'each tensor is a raw little-endian C-order file, no header; bool masks stored as uint8 0/1',
        checkpoint: opts.checkpoint,
        image: opts.image,
        original_hw: predictor.originalSize,
        input_hw: predictor.inputSize,
        prompts: { points, box, multimask_output: multimask },
        mask_threshold: sam.maskThreshold,
        iou_predictions: Array.from(files.iou_predictions.toFloat32Array()),
        stability_scores: Array.from(files.stability_scores.toFloat32Array()),
        overlay: 'overlay.png',
        tensors,
      };
      await writeFileAtomic(join(opts.out, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
      const iou = manifest.iou_predictions.map((v) => v.toFixed(3)).join(', ');
      say(
        `wrote ${Object.keys(tensors).length} tensors, overlay.png and manifest.json to ${opts.out} (IoU ${iou})`,
      );
    } finally {
      torch.dispose(files);
    }
  } finally {
    predictor.dispose();
    sam.dispose();
  }
}

function registerPredict(sam: Command): void {
  sam
    .command('predict')
    .description(
      'segment one image with point and/or box prompts; writes raw tensors, manifest.json, overlay.png',
    )
    .requiredOption(
      '--checkpoint <file>',
      'SAM checkpoint (.pth or safetensors, official or Hugging Face keys)',
    )
    .option(
      '--config <json>',
      'config JSON for sizes the weights do not say (heads, global blocks, window, eps)',
    )
    .requiredOption('--image <file>', 'image to segment (PNG, JPEG, ...)')
    .option('--points <x,y,label;...>', 'point prompts in image pixels; label 1 foreground, 0 background')
    .option('--box <x0,y0,x1,y1>', 'box prompt in image pixels')
    .option('--multimask', 'three masks (SAM tokens 1..3) instead of one', false)
    .requiredOption('--out <dir>', 'output folder')
    .option('--device <device>', "'cpu' or 'cuda'", 'cpu')
    .action(async (opts: PredictOpts) => runPredict(opts));
}

/** Registers the `sam` command group and its subcommands. */
export function register(program: Command): Command {
  const sam = program
    .command('sam')
    .description('SAM, the teacher: predict masks from prompts, cache embeddings');
  registerPredict(sam);
  registerSamEmbed(sam);
  return sam;
}
