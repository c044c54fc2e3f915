// A tiny synthetic experiment on disk for the pipeline tests: train + val sets (wish synth), weak labels of
// every kind (wish weaken), the shipped demo teacher, and a run config far smaller than cpu-small.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CocoDataset } from '../../src/data/coco/index.ts';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../src/data/synth/index.ts';
import { weaken, writeWeakDataset } from '../../src/data/weak/index.ts';
import { parseRunConfig, type RunConfig } from '../../src/train/config.ts';
import { TINY_STUDENT } from '../train/helpers.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const teacher = {
  checkpoint: path.join(repoRoot, 'models', 'teacher', 'teacher.safetensors'),
  config: path.join(repoRoot, 'models', 'teacher', 'teacher.json'),
};

/** 12 train images (4 tag, 4 point, 4 box) and 4 val images, 64 px. */
export async function tinyExperimentData(): Promise<{
  dir: string;
  weak: string;
  images: string;
  val: { annotations: string; images: string };
}> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-pipeline-'));
  const train = path.join(dir, 'train');
  const val = path.join(dir, 'val');
  await writeSynthDataset(train, { images: 12, seed: 5, size: 64, minInstances: 1, maxInstances: 3 });
  await writeSynthDataset(val, { images: 4, seed: 6, size: 64, minInstances: 1, maxInstances: 3 });
  const gt = JSON.parse(await readFile(path.join(train, ANNOTATIONS_FILE), 'utf8')) as CocoDataset;
  const res = weaken(gt, {
    counts: { tag: 4, point: 4, box: 4 },
    seed: 1,
    unchosen: 'drop',
    pointStrategy: 'center',
    boxSource: 'mask',
  });
  const weak = path.join(train, 'weak.json');
  await writeWeakDataset(weak, res.dataset);
  return { dir, weak, images: train, val: { annotations: path.join(val, ANNOTATIONS_FILE), images: val } };
}

/** A very small student (prompt width 64, the shipped teacher's) for pipeline tests. */
export const TINY_MODEL = { ...TINY_STUDENT, promptDim: 64 };

/** A few iterations of TINY_MODEL. */
export function tinyRunConfig(over: Record<string, unknown> = {}): RunConfig {
  return parseRunConfig({
    model: TINY_MODEL,
    // Replaced by the experiment.
    data: { prepared: '(experiment)' },
    batchSize: 2,
    iterations: 3,
    optimizer: { lr: 1e-3 },
    loss: { numPoints: 128, matcher: { numPoints: 128 }, warmupIterations: 1 },
    evalEvery: 0,
    checkpointEvery: 0,
    threads: 1,
    ...over,
  });
}
