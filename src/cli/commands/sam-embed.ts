// `wish sam embed`: compute and cache SAM image embeddings for a folder of images or a dataset JSON, once.
// Resumable: rerunning skips valid entries and recomputes stale or corrupt ones (src/sam/cache/).
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { buildEmbeddingCache, type CacheImage, type CacheSummary } from '../../sam/cache/embed-cache.ts';
import { listDatasetImages, listImageFolder } from '../../sam/cache/image-list.ts';
import { loadSamEmbedder } from '../../sam/cache/sam-embedder.ts';

export interface SamEmbedOptions {
  checkpoint: string;
  config?: string;
  images?: string;
  data?: string;
  out: string;
  device?: string;
  /** Show the progress bar (default true; tests turn it off). */
  progress?: boolean;
}

/** One line per failure plus the counts. */
export function formatSummary(s: CacheSummary): string {
  const c = s.computed;
  const lines = [
    `${s.total} images: ${c.missing + c.corrupt + c.staleModel + c.staleImage} computed ` +
      `(${c.missing} new, ${c.staleModel} stale model, ${c.staleImage} changed image, ${c.corrupt} corrupt), ` +
      `${s.skipped} already cached, ${s.failed.length} failed`,
  ];
  for (const f of s.failed) lines.push(`  failed: ${f.name} (${f.path}): ${f.reason}`);
  return lines.join('\n');
}

/** Runs the command; returns the summary (the CLI action sets the exit code from it). */
export async function runSamEmbed(opts: SamEmbedOptions): Promise<CacheSummary> {
  if ((opts.images === undefined) === (opts.data === undefined))
    throw new Error('sam embed: give exactly one of --images DIR or --data JSON');
  const images: CacheImage[] =
    opts.images !== undefined ? await listImageFolder(opts.images) : await listDatasetImages(opts.data!);
  if (images.length === 0) throw new Error(`sam embed: no images found in ${opts.images ?? opts.data}`);
  const embedder = await loadSamEmbedder(opts.checkpoint, { config: opts.config, device: opts.device });
  // Off a terminal, cli-progress prints a line every few seconds instead (noTTYOutput).
  const showBar = opts.progress ?? true;
  const bar = new cliProgress.SingleBar(
    {
      format: 'sam embed |{bar}| {value}/{total} | {rate} img/s | ETA {eta_formatted} | {name}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
      etaBuffer: 20,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  if (showBar) bar.start(images.length, 0, { rate: '0.00', name: '' });
  try {
    return await buildEmbeddingCache({
      images,
      outDir: opts.out,
      modelId: embedder.modelId,
      embed: (img) => embedder.embed(img),
      onProgress: (done, _total, name) => {
        const rate = done / Math.max(1e-3, (performance.now() - t0) / 1000);
        if (showBar) bar.update(done, { rate: rate.toFixed(2), name });
      },
    });
  } finally {
    if (showBar) bar.stop();
    embedder.dispose();
  }
}

/** Adds `embed` to the `wish sam` command group. */
export function registerSamEmbed(sam: Command): void {
  sam
    .command('embed')
    .description('cache SAM image embeddings (float16) for a folder of images or a dataset JSON; resumable')
    .requiredOption(
      '--checkpoint <file>',
      'SAM checkpoint (.pth or safetensors, official or Hugging Face keys)',
    )
    .option(
      '--config <json>',
      'config JSON for sizes the weights do not say (heads, global blocks, window, eps)',
    )
    .option('--images <dir>', 'embed every image file under this folder')
    .option('--data <json>', 'embed the images of a COCO or weak-label JSON (file_name relative to the JSON)')
    .requiredOption('--out <dir>', 'cache folder (one <image>.samemb file per image)')
    .option('--device <device>', "'cpu' or 'cuda'", 'cpu')
    .action(async (opts: SamEmbedOptions) => {
      const summary = await runSamEmbed(opts);
      process.stderr.write(`${formatSummary(summary)}\n`);
      if (summary.failed.length > 0) {
        process.stderr.write(`sam embed: ${summary.failed.length} image(s) failed; the others are cached\n`);
        process.exitCode = 1;
      }
    });
}
