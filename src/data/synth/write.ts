// Writes a synthetic dataset to disk: DIR/images/NNNNNN.png and DIR/annotations.json (COCO, full
// masks). Everything is built in a sibling temp folder and renamed into place at the end, so DIR
// is either absent/old or complete, never half-written.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { CocoAnnotation, CocoImage } from '../coco/types.ts';
import { writeCocoShapedJson } from '../coco/write.ts';
import { encodePng } from '../image/io.ts';
import { sceneAnnotations, synthCategories } from './coco.ts';
import { generateScene, resolveOptions, type SynthOptions } from './scene.ts';

export interface WriteSynthOptions extends Partial<SynthOptions> {
  images: number;
  seed: number;
  /** Replace DIR if it exists and is not empty. */
  force?: boolean;
  /** Called after each image is written, with the count done. */
  onProgress?: (done: number) => void;
}

export interface WriteSynthResult {
  dir: string;
  images: number;
  annotations: number;
}

export const ANNOTATIONS_FILE = 'annotations.json';

/** file_name of image i, relative to the dataset folder (where annotations.json lives). */
export function synthFileName(index: number): string {
  return `images/${String(index).padStart(6, '0')}.png`;
}

async function existingNonEmpty(dir: string): Promise<boolean> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new Error(`--out ${dir} exists and is not a folder`);
    return (await readdir(dir)).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export async function writeSynthDataset(outDir: string, opts: WriteSynthOptions): Promise<WriteSynthResult> {
  const { images: n, seed, force, onProgress, ...sceneOpts } = opts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--images must be a positive integer, got ${n}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${seed}`);
  const o = resolveOptions(sceneOpts);
  const dir = resolve(outDir);
  if ((await existingNonEmpty(dir)) && !force) {
    throw new Error(`--out ${dir} exists and is not empty; pass --force to replace it`);
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  // Scenes are generated on this thread; PNG encoding runs in libvips' pool, a few at a time.
  const inFlight = new Set<Promise<void>>();
  try {
    await mkdir(join(tmp, 'images'), { recursive: true });
    const imageRecords: CocoImage[] = [];
    const annotations: CocoAnnotation[] = [];
    let done = 0;
    for (let i = 0; i < n; i++) {
      const scene = generateScene(seed, i, o);
      const fileName = synthFileName(i);
      imageRecords.push({ id: i + 1, file_name: fileName, width: scene.width, height: scene.height });
      annotations.push(...sceneAnnotations(scene, i + 1, annotations.length + 1));
      const job = encodePng({ data: scene.image, width: scene.width, height: scene.height })
        .then((png) => writeFile(join(tmp, fileName), png))
        .then(() => {
          inFlight.delete(job);
          onProgress?.(++done);
        });
      inFlight.add(job);
      if (inFlight.size >= 8) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await writeCocoShapedJson(join(tmp, ANNOTATIONS_FILE), {
      info: {
        description:
          'wish synthetic shapes: instance masks of shape classes with class-independent colour and texture',
        generator: { seed, images: n, ...o },
      },
      images: imageRecords,
      annotations,
      categories: synthCategories(o.classes),
    });
    if (await existingNonEmpty(dir)) {
      // --force: move the old folder aside first so the swap is two renames, then delete it.
      const old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}-${Date.now()}`);
      await rename(dir, old);
      await rename(tmp, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rm(dir, { recursive: true, force: true }); // an empty folder, if any
      await rename(tmp, dir);
    }
    return { dir, images: n, annotations: annotations.length };
  } catch (err) {
    await Promise.allSettled(inFlight);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
