// One training image's augmentation as a self-contained job: read (and cache) the image, draw the
// augmentation from its own seed, warp the image and its instances. The same function runs in the trainer's
// thread or in an augmentation worker (augment-pool.ts); both give identical samples.
import type { AugmentOptions, LabeledInstance, WarpedSample } from '../data/augment/index.ts';
import { augmentSample } from '../data/augment/index.ts';
import { loadImage } from '../data/image/io.ts';
import type { RgbImage } from '../data/image/types.ts';
import { seededRandom } from '../data/synth/rng.ts';

export interface AugmentJob {
  file: string;
  /** The size the dataset gives the image (checked against the file). */
  width: number;
  height: number;
  instances: (LabeledInstance & { i: number })[];
  /** Seed of the augmentation's random stream. */
  randSeed: number;
  options: AugmentOptions;
  /** Keep the decoded image for the next job that reads it. */
  cache: boolean;
}

export type AugmentResult = WarpedSample<LabeledInstance & { i: number }>;

async function loadChecked(file: string, width: number, height: number): Promise<RgbImage> {
  const pixels = await loadImage(file);
  if (pixels.width !== width || pixels.height !== height) {
    throw new Error(
      `${file}: image is ${pixels.width}x${pixels.height}, the dataset says ${width}x${height}`,
    );
  }
  return pixels;
}

/** Runs a job against a per-thread image cache. */
export async function runAugmentJob(job: AugmentJob, cache: Map<string, RgbImage>): Promise<AugmentResult> {
  let pixels = cache.get(job.file);
  if (!pixels) {
    pixels = await loadChecked(job.file, job.width, job.height);
    if (job.cache) cache.set(job.file, pixels);
  }
  return augmentSample({ image: pixels, instances: job.instances }, seededRandom(job.randSeed), job.options);
}
