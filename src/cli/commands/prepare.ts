// `wish prepare`: SAM's three candidate masks (RLE), IoU predictions and stability scores for every point
// and box label of a weak-label dataset, plus cached embeddings for tag images. Resumable; a summary at the end.
import type { Command } from 'commander';
import { runPrepare, type PrepareSummary } from '../../method/prepare/prepare.ts';

export function formatPrepareSummary(s: PrepareSummary, out: string): string {
  const lines = [
    `prepared ${out}: ${s.images} images with point/box labels (${s.computed} computed now, ${s.resumed} from an earlier run)`,
    `  labels: ${s.labels.point} point, ${s.labels.box} box`,
    `  tag-image embeddings: ${s.embeddedImages} cached (${s.embeddingsComputed} computed now)`,
    `  ${s.seconds.toFixed(1)} s in all; labels: ${s.computed} images and ${s.labelsComputed} labels in ` +
      `${s.labelSeconds.toFixed(1)} s (${(s.computed / Math.max(1e-9, s.labelSeconds)).toFixed(2)} images/s, ` +
      `${(s.labelsComputed / Math.max(1e-9, s.labelSeconds)).toFixed(1)} labels/s)`,
    `  failures: ${s.failures.length}`,
  ];
  for (const f of s.failures) lines.push(`    ${f.image}: ${f.reason}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('prepare')
    .description(
      'run the SAM teacher once over a weak-label dataset: 3 masks per point/box label, embeddings for tag images',
    )
    .requiredOption('--data <json>', 'weak-label dataset (COCO-shaped JSON with label_type per image)')
    .option('--images <dir>', "folder the images' file_name resolve against (default: the JSON's folder)")
    .requiredOption('--sam <checkpoint>', 'SAM weights (.pth or safetensors, official or Hugging Face keys)')
    .option(
      '--sam-config <json>',
      'SAM config JSON for what the weights do not say (e.g. models/teacher/teacher.json)',
    )
    .requiredOption('--out <dir>', 'prepared folder (prepared.json, labels.jsonl, embeddings/)')
    .option('--force', 'start over if --out was prepared with another teacher or dataset')
    .option('--device <device>', "'cpu' or 'cuda'", 'cpu')
    .option('--threads <n>', 'intra-op threads (1 is fastest on a busy machine)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`--threads must be a positive integer, got "${v}"`);
      return n;
    })
    .option('--no-progress', 'no progress bar')
    .action(
      async (o: {
        data: string;
        images?: string;
        sam: string;
        samConfig?: string;
        out: string;
        force?: boolean;
        device: string;
        threads?: number;
        progress: boolean;
      }) => {
        const s = await runPrepare({ ...o, progress: o.progress });
        process.stderr.write(`${formatPrepareSummary(s, o.out)}\n`);
        if (s.failures.length > 0) {
          process.stderr.write(
            `prepare: ${s.failures.length} image(s) failed; rerun to retry them (the rest is kept)\n`,
          );
          process.exitCode = 1;
        }
      },
    );
}
