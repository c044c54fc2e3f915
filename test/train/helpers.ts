// A tiny synthetic weak-label set on disk for the trainer tests: images + ground truth (wish synth), weak
// labels of every kind (wish weaken), and the oracle teacher standing in for SAM (src/train/oracle.ts).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../src/data/synth/index.ts';
import { weaken, type WeakenCounts } from '../../src/data/weak/index.ts';
import type { CocoDataset } from '../../src/data/coco/index.ts';
import { buildPromptEncoder } from '../../src/sam/build.ts';
import { samPreset } from '../../src/sam/config.ts';
import * as torch from '../../src/engine/index.ts';
import { gtMasks, oraclePrepared, OracleTeacher, type GroundTruth } from '../../src/train/oracle.ts';
import { SamPromptLatents } from '../../src/train/teacher.ts';
import { parseRunConfig, type RunConfig } from '../../src/train/config.ts';
import type { BinaryMask } from '../../src/data/mask/index.ts';

export async function syntheticSet(images: number, counts: WeakenCounts, size = 64) {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-train-'));
  await writeSynthDataset(dir, { images, seed: 3, size, minInstances: 1, maxInstances: 3 });
  const gt = JSON.parse(await readFile(path.join(dir, ANNOTATIONS_FILE), 'utf8')) as CocoDataset &
    GroundTruth;
  const weak = weaken(gt, {
    counts,
    seed: 1,
    unchosen: 'drop',
    pointStrategy: 'center',
    boxSource: 'mask',
  }).dataset;
  const prepared = oraclePrepared(weak, gt, dir);
  const L = prepared.manifest.teacher.config.imgSize;
  torch.manualSeed(0);
  const latents = new SamPromptLatents(buildPromptEncoder({ ...samPreset('vit_b'), imgSize: L }), L);
  const masks = gtMasks(gt);
  const byFile = new Map<string, BinaryMask[]>();
  for (const im of gt.images) {
    byFile.set(
      im.file_name,
      gt.annotations.filter((a) => a.image_id === im.id).map((a) => masks.get(a.id)!),
    );
  }
  const teacher = new OracleTeacher(byFile, L);
  return { dir, gt, weak, prepared, latents, teacher };
}

/** cpu-small shrunk for tests (prompts 256 wide, as SAM's and the oracle's). */
export const TINY_STUDENT = {
  numClasses: 4,
  promptDim: 256,
  inputSize: 64,
  backbone: { kind: 'small-cnn', widths: [8, 16, 16, 16], depth: 1 },
  pixelDecoder: { kind: 'fpn', convDim: 16, maskDim: 16 },
  decoder: { hiddenDim: 32, numQueries: 6, nHeads: 2, dimFeedforward: 32, layers: 2 },
};

/** A small run config for tests around TINY_STUDENT. */
export function tinyConfig(over: Record<string, unknown> = {}): RunConfig {
  return parseRunConfig({
    model: TINY_STUDENT,
    data: { prepared: '(memory)' },
    batchSize: 2,
    iterations: 6,
    optimizer: { lr: 1e-3 },
    loss: { numPoints: 256, matcher: { numPoints: 256 } },
    threads: 1,
    ...over,
  });
}
