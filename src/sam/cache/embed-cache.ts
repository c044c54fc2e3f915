// A folder of cached SAM image embeddings, one entry file per image (format: entry-format.ts), built once
// per dataset and resumable: entries are written atomically (temp file + rename), and a rerun skips every
// entry whose header matches the current model and source image and whose payload checksum holds. Stale
// or corrupt entries are recomputed. Images that cannot be read or decoded are reported by name; the rest
// are still processed.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { decodeImage } from '../../data/image/io.ts';
import type { RgbImage } from '../../data/image/types.ts';
import { decodeEntry, encodeEntry, sha256, type EntryHeader } from './entry-format.ts';

export const ENTRY_EXT = '.samemb';

export interface CacheImage {
  /** Relative name (the entry is `<outDir>/<name>.samemb`); unique within a cache. */
  name: string;
  /** Where the image file is. */
  path: string;
}

export interface ComputedEmbedding {
  /** [1, D, h, w] (any float dtype; stored as float16). */
  embedding: Tensor;
  originalSize: [number, number];
  inputSize: [number, number];
}
export type EmbedFn = (img: RgbImage) => ComputedEmbedding;

export type EntryState = 'valid' | 'missing' | 'corrupt' | 'stale-model' | 'stale-image';
export type Outcome = 'skipped' | 'computed' | 'failed';

export interface CacheSummary {
  total: number;
  /** Valid entries left as they were. */
  skipped: number;
  /** Entries (re)computed, by the state they were found in. */
  computed: { missing: number; corrupt: number; staleModel: number; staleImage: number };
  failed: { name: string; path: string; reason: string }[];
}

export interface BuildCacheOptions {
  images: CacheImage[];
  outDir: string;
  modelId: string;
  embed: EmbedFn;
  /** After each image: images done so far, the total, the image's name and what happened. */
  onProgress?: (done: number, total: number, name: string, outcome: Outcome) => void;
}

/** The entry file of an image name; names must be relative and stay inside the cache folder. */
export function entryPath(outDir: string, name: string): string {
  const n = normalize(name);
  if (name === '' || isAbsolute(n) || n.split(/[\\/]/).includes('..'))
    throw new Error(`embedding cache: image name '${name}' must be a relative path inside the cache folder`);
  return join(outDir, n + ENTRY_EXT);
}

/** Classifies an entry file against the model and source image it should come from. */
export async function entryState(
  file: string,
  modelId: string,
  imageSha256: string,
): Promise<{ state: EntryState; reason?: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'missing' };
    return { state: 'corrupt', reason: `unreadable: ${(e as Error).message}` };
  }
  const d = decodeEntry(bytes);
  if (!d.ok) return { state: 'corrupt', reason: d.reason };
  if (d.header.modelId !== modelId)
    return { state: 'stale-model', reason: `made by model ${d.header.modelId}, now ${modelId}` };
  if (d.header.imageSha256 !== imageSha256) return { state: 'stale-image', reason: 'the image file changed' };
  return { state: 'valid' };
}

/** Reads a cached embedding as float32 [1, D, h, w]; throws naming the file if it is corrupt or stale. */
export async function readCachedEmbedding(
  outDir: string,
  name: string,
  expect: { modelId?: string; imageSha256?: string } = {},
): Promise<{ embedding: Tensor; header: EntryHeader }> {
  const file = entryPath(outDir, name);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new Error(`cannot read cached embedding ${file}: ${(e as Error).message}`);
  }
  const d = decodeEntry(bytes);
  if (!d.ok) throw new Error(`cached embedding ${file} is corrupt: ${d.reason}`);
  if (expect.modelId !== undefined && d.header.modelId !== expect.modelId)
    throw new Error(
      `cached embedding ${file} is stale: model ${d.header.modelId}, expected ${expect.modelId}`,
    );
  if (expect.imageSha256 !== undefined && d.header.imageSha256 !== expect.imageSha256)
    throw new Error(`cached embedding ${file} is stale: it was computed from another version of the image`);
  const embedding = torch.tidy(() => torch.fromBuffer(d.payload, 'float16', d.header.shape).float());
  return { embedding, header: d.header };
}

async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

interface Loaded {
  bytes?: Buffer;
  sha?: string;
  error?: string;
}

async function readSource(path: string): Promise<Loaded> {
  try {
    const bytes = await readFile(path);
    return { bytes, sha: sha256(bytes) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? 'no such file' : `cannot read: ${(e as Error).message}` };
  }
}

const COUNTER = {
  missing: 'missing',
  corrupt: 'corrupt',
  'stale-model': 'staleModel',
  'stale-image': 'staleImage',
} as const;

/** Computes the missing, stale and corrupt entries of a cache folder; see the file comment. */
export async function buildEmbeddingCache(opts: BuildCacheOptions): Promise<CacheSummary> {
  const { images, outDir, modelId, embed } = opts;
  const seen = new Map<string, string>();
  for (const im of images) {
    const key = entryPath(outDir, im.name);
    const prev = seen.get(key);
    if (prev !== undefined)
      throw new Error(`embedding cache: images ${prev} and ${im.path} map to the same entry ${key}`);
    seen.set(key, im.path);
  }
  await mkdir(outDir, { recursive: true });
  const summary: CacheSummary = {
    total: images.length,
    skipped: 0,
    computed: { missing: 0, corrupt: 0, staleModel: 0, staleImage: 0 },
    failed: [],
  };
  // Reading the next file overlaps with encoding the current one.
  let next: Promise<Loaded> | null = images.length > 0 ? readSource(images[0].path) : null;
  for (let i = 0; i < images.length; i++) {
    const im = images[i];
    const src = await next!;
    next = i + 1 < images.length ? readSource(images[i + 1].path) : null;
    let outcome: Outcome;
    if (src.error !== undefined) {
      summary.failed.push({ name: im.name, path: im.path, reason: src.error });
      outcome = 'failed';
    } else {
      const file = entryPath(outDir, im.name);
      const { state } = await entryState(file, modelId, src.sha!);
      if (state === 'valid') {
        summary.skipped++;
        outcome = 'skipped';
      } else {
        let img: RgbImage | null = null;
        try {
          img = await decodeImage(src.bytes!, im.path);
        } catch (e) {
          summary.failed.push({ name: im.name, path: im.path, reason: (e as Error).message });
        }
        if (img) {
          const { payload, shape, originalSize, inputSize } = torch.tidy(() => {
            const r = torch.noGrad(() => embed(img));
            return {
              payload: r.embedding.half().contiguous().toBuffer(),
              shape: r.embedding.shape,
              originalSize: r.originalSize,
              inputSize: r.inputSize,
            };
          });
          const bytes = encodeEntry(
            { shape, modelId, imageSha256: src.sha!, originalSize, inputSize },
            payload,
          );
          await writeAtomic(file, bytes);
          summary.computed[COUNTER[state]]++;
          outcome = 'computed';
        } else {
          outcome = 'failed';
        }
      }
    }
    opts.onProgress?.(i + 1, images.length, im.name, outcome);
  }
  return summary;
}
