// `wish prepare`: runs SAM over a weak-label dataset once. For every image with point or box labels: its
// embedding (from the embedding cache when a valid entry is there, else computed), then one batched decoder
// call for all its labels -> labels.jsonl (layout: types.ts). Tag images get their embeddings cached in
// CACHE/embeddings (the trainer runs SAM on CAM peaks from them). Resumable: prepared.json names the
// teacher and data by sha256; a rerun with the same ones skips the images already in labels.jsonl, a
// different teacher or dataset is refused unless `force` (which starts over).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import * as torch from '../../engine/index.ts';
import { decodeImage } from '../../data/image/io.ts';
import { loadWeakDataset } from '../../data/weak/load.ts';
import type { WeakAnnotation, WeakDataset, WeakImage } from '../../data/weak/types.ts';
import { loadSam } from '../../sam/build.ts';
import { samConfigToJson, type SamConfig } from '../../sam/config.ts';
import {
  buildEmbeddingCache,
  entryPath,
  entryState,
  readCachedEmbedding,
} from '../../sam/cache/embed-cache.ts';
import { sha256 } from '../../sam/cache/entry-format.ts';
import { fileSha256, modelIdFrom } from '../../sam/cache/model-id.ts';
import { SamPredictor } from '../../sam/predictor.ts';
import { preprocessImage } from '../../sam/preprocess.ts';
import type { Sam } from '../../sam/sam.ts';
import {
  appendLabelsLine,
  LABELS_FILE,
  readLabelsFile,
  writeLabelsFile,
  type LabelsLine,
} from './labels-file.ts';
import { decodeImageLabels } from './sam-labels.ts';
import { PREPARED_FORMAT, type PreparedManifest } from './types.ts';

export const MANIFEST_FILE = 'prepared.json';
export const EMBEDDINGS_DIR = 'embeddings';

export interface PrepareOptions {
  /** Weak-label JSON. */
  data: string;
  /** Folder the images' file_names resolve against (default: the JSON's folder). */
  images?: string;
  /** SAM checkpoint (.pth or safetensors) and optional config JSON. */
  sam: string;
  samConfig?: string;
  out: string;
  /** Start over when the folder was prepared with another teacher or dataset. */
  force?: boolean;
  progress?: boolean;
  device?: string;
  /** Intra-op threads (1 is fastest on a machine busy with other work: OpenMP waits badly under load). */
  threads?: number;
  /** Called after each image is written (tests use it to simulate an interruption). */
  onImageDone?: (imageId: number, done: number, total: number) => void;
}

export interface PrepareSummary {
  /** Images with point or box labels, and how many of them this run computed / found done. */
  images: number;
  computed: number;
  resumed: number;
  labels: { point: number; box: number };
  /** Tag images whose embeddings are in the cache (computed now or already valid). */
  embeddedImages: number;
  embeddingsComputed: number;
  /** Wall seconds of the whole run, and of the label pass alone (for images/s and labels/s). */
  seconds: number;
  labelSeconds: number;
  /** Labels computed by this run (not counting resumed ones). */
  labelsComputed: number;
  failures: { image: string; reason: string }[];
}

function sameTeacher(a: PreparedManifest['teacher'], sha: string, cfg: SamConfig): boolean {
  return (
    a.sha256 === sha && JSON.stringify(samConfigToJson(a.config)) === JSON.stringify(samConfigToJson(cfg))
  );
}

async function writeJsonAtomic(path: string, v: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify(v, null, 2) + '\n');
  await rename(tmp, path);
}

/** Reads and checks prepared.json (format and required fields). */
export async function readManifest(path: string): Promise<PreparedManifest> {
  let m: PreparedManifest;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as PreparedManifest;
  } catch (e) {
    throw new Error(`${path}: cannot read the prepared-dataset manifest: ${(e as Error).message}`);
  }
  if (m?.format !== PREPARED_FORMAT)
    throw new Error(`${path}: format is ${JSON.stringify(m?.format)}, expected "${PREPARED_FORMAT}"`);
  for (const k of ['data', 'dataSha256', 'images', 'teacher', 'counts'] as const)
    if (m[k] === undefined) throw new Error(`${path}: missing "${k}"`);
  return m;
}

function makeBar(label: string, show: boolean): cliProgress.SingleBar | null {
  if (!show) return null;
  return new cliProgress.SingleBar(
    {
      format: `${label} |{bar}| {value}/{total} | {rate} img/s | {lrate} labels/s | ETA {eta_formatted} | {name}`,
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
      etaBuffer: 30,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

export async function runPrepare(o: PrepareOptions): Promise<PrepareSummary> {
  const t0 = performance.now();
  if (o.threads !== undefined) torch.setNumThreads(o.threads);
  const dataPath = resolve(o.data);
  const imagesDir = resolve(o.images ?? dirname(dataPath));
  const out = resolve(o.out);
  const checkpoint = resolve(o.sam);
  const weak: WeakDataset = await loadWeakDataset(dataPath); // validates, with file/record/what in errors
  const [dataSha, teacherSha] = await Promise.all([fileSha256(dataPath), fileSha256(checkpoint)]);
  const sam: Sam = await loadSam(checkpoint, { config: o.samConfig, device: o.device });
  const config = sam.config!;
  const modelId = modelIdFrom(teacherSha, config);
  const manifestPath = join(out, MANIFEST_FILE);
  const labelsPath = join(out, LABELS_FILE);
  const embDir = join(out, EMBEDDINGS_DIR);

  try {
    await mkdir(out, { recursive: true });
    // The folder's teacher and data must be these, else refuse (or start over with force).
    if (existsSync(manifestPath)) {
      const m = await readManifest(manifestPath);
      const problems: string[] = [];
      if (!sameTeacher(m.teacher, teacherSha, config))
        problems.push(
          `it was prepared with teacher ${m.teacher.checkpoint} (sha256 ${m.teacher.sha256.slice(0, 12)}), now ${checkpoint} (sha256 ${teacherSha.slice(0, 12)})`,
        );
      if (m.dataSha256 !== dataSha)
        problems.push(
          `it was prepared from ${m.data} (sha256 ${m.dataSha256.slice(0, 12)}), now ${dataPath} (sha256 ${dataSha.slice(0, 12)})`,
        );
      if (problems.length > 0) {
        if (!o.force)
          throw new Error(
            `${out}: ${problems.join('; ')}. Refusing to mix teachers or datasets in one prepared folder: ` +
              `use another --out, or --force to start this one over`,
          );
        await rm(labelsPath, { force: true });
      }
    } else if (existsSync(labelsPath)) {
      if (!o.force)
        throw new Error(
          `${out}: ${LABELS_FILE} exists without ${MANIFEST_FILE}: unknown teacher; use --force to start over`,
        );
      await rm(labelsPath, { force: true });
    }

    const byImage = new Map<number, WeakAnnotation[]>();
    for (const a of weak.annotations) {
      const l = byImage.get(a.image_id);
      if (l) l.push(a);
      else byImage.set(a.image_id, [a]);
    }
    const labelled = weak.images.filter(
      (im) => (im.label_type === 'point' || im.label_type === 'box') && (byImage.get(im.id)?.length ?? 0) > 0,
    );
    const tagImages = weak.images.filter((im) => im.label_type === 'tag');
    const counts = {
      images: labelled.length,
      pointLabels: labelled
        .filter((im) => im.label_type === 'point')
        .reduce((s, im) => s + byImage.get(im.id)!.length, 0),
      boxLabels: labelled
        .filter((im) => im.label_type === 'box')
        .reduce((s, im) => s + byImage.get(im.id)!.length, 0),
      embeddedImages: 0,
    };
    const manifest: PreparedManifest = {
      format: PREPARED_FORMAT,
      data: dataPath,
      dataSha256: dataSha,
      images: imagesDir,
      teacher: { checkpoint, sha256: teacherSha, config },
      counts,
      complete: false,
    };
    await writeJsonAtomic(manifestPath, manifest);

    // Resume: keep the complete lines of earlier runs (a torn last line is rewritten away).
    const { lines: previous, torn } = await readLabelsFile(labelsPath);
    const wanted = new Set(labelled.map((im) => im.id));
    const done = new Map<number, LabelsLine>();
    for (const l of previous) if (wanted.has(l.image_id)) done.set(l.image_id, l);
    if (torn || done.size !== previous.length) await writeLabelsFile(labelsPath, [...done.values()]);

    const summary: PrepareSummary = {
      images: labelled.length,
      computed: 0,
      resumed: done.size,
      labels: { point: 0, box: 0 },
      embeddedImages: 0,
      embeddingsComputed: 0,
      seconds: 0,
      labelSeconds: 0,
      labelsComputed: 0,
      failures: [],
    };
    const predictor = new SamPredictor(sam);
    const todo = labelled.filter((im) => !done.has(im.id));
    const bar = makeBar('prepare labels', (o.progress ?? true) && todo.length > 0);
    bar?.start(todo.length, 0, { rate: '0.00', lrate: '0.0', name: '' });
    const tLabels = performance.now();
    let labelsNow = 0;
    try {
      for (let i = 0; i < todo.length; i++) {
        const im = todo[i];
        try {
          const line = await labelImage(predictor, im, byImage.get(im.id)!, imagesDir, embDir, modelId);
          await appendLabelsLine(labelsPath, line);
          done.set(im.id, line);
          summary.computed++;
          labelsNow += line.labels.length;
        } catch (e) {
          summary.failures.push({ image: im.file_name, reason: (e as Error).message });
        }
        const secs = Math.max(1e-3, (performance.now() - tLabels) / 1000);
        bar?.update(i + 1, {
          rate: ((i + 1) / secs).toFixed(2),
          lrate: (labelsNow / secs).toFixed(1),
          name: im.file_name,
        });
        o.onImageDone?.(im.id, i + 1, todo.length);
      }
    } finally {
      bar?.stop();
      predictor.dispose();
    }
    summary.labelSeconds = (performance.now() - tLabels) / 1000;
    summary.labelsComputed = labelsNow;

    // Embeddings of tag images (entry name = file_name, as the trainer reads them).
    const cacheImages = tagImages.map((im) => ({
      name: im.file_name,
      path: resolve(imagesDir, im.file_name),
    }));
    if (cacheImages.length > 0) {
      const ebar = makeBar('prepare embeddings', o.progress ?? true);
      ebar?.start(cacheImages.length, 0, { rate: '0.00', lrate: '-', name: '' });
      const te = performance.now();
      try {
        const cs = await buildEmbeddingCache({
          images: cacheImages,
          outDir: embDir,
          modelId,
          embed: (img) => {
            const input = preprocessImage(img, config.imgSize, config);
            try {
              const embedding = torch.noGrad(() => sam.encodeImage(input.tensor.to(sam.device))).cpu();
              return { embedding, originalSize: input.originalSize, inputSize: input.inputSize };
            } finally {
              input.tensor.dispose();
            }
          },
          onProgress: (n, _t, name) =>
            ebar?.update(n, {
              rate: (n / Math.max(1e-3, (performance.now() - te) / 1000)).toFixed(2),
              lrate: '-',
              name,
            }),
        });
        const c = cs.computed;
        summary.embeddingsComputed = c.missing + c.corrupt + c.staleModel + c.staleImage;
        summary.embeddedImages = cs.total - cs.failed.length;
        for (const f of cs.failed) summary.failures.push({ image: f.name, reason: f.reason });
      } finally {
        ebar?.stop();
      }
    }

    for (const l of done.values()) for (const lab of l.labels) summary.labels[lab.kind]++;
    await writeLabelsFile(labelsPath, [...done.values()]);
    manifest.counts.embeddedImages = summary.embeddedImages;
    manifest.complete = summary.failures.length === 0 && done.size === labelled.length;
    await writeJsonAtomic(manifestPath, manifest);
    summary.seconds = (performance.now() - t0) / 1000;
    return summary;
  } finally {
    sam.dispose();
  }
}

/** One image's labels: its embedding (cached entry if valid, else computed) and one batched decode. */
async function labelImage(
  predictor: SamPredictor,
  im: WeakImage,
  anns: WeakAnnotation[],
  imagesDir: string,
  embDir: string,
  modelId: string,
): Promise<LabelsLine> {
  const path = resolve(imagesDir, im.file_name);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const img = await decodeImage(bytes, path);
  if (img.width !== im.width || img.height !== im.height)
    throw new Error(
      `${path}: the image is ${img.width}x${img.height}, the dataset says ${im.width}x${im.height}`,
    );
  let fromCache = false;
  try {
    const st = await entryState(entryPath(embDir, im.file_name), modelId, sha256(bytes));
    if (st.state === 'valid') {
      const { embedding } = await readCachedEmbedding(embDir, im.file_name);
      try {
        predictor.setImageEmbedding(embedding, { originalSize: [img.height, img.width] });
        fromCache = true;
      } finally {
        embedding.dispose();
      }
    }
  } catch {
    fromCache = false; // a name the cache cannot hold: compute instead
  }
  if (!fromCache) predictor.setRgbImage(img);
  const kind = im.label_type as 'point' | 'box';
  return { image_id: im.id, labels: decodeImageLabels(predictor, kind, anns) };
}
