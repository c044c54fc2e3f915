// `wish eval`: COCO evaluation of detection results against ground truth, pycocotools-exact.
import { Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { loadCocoJson } from '../../data/coco/index.ts';
import {
  cocoEval,
  loadResults,
  readResultsFile,
  STAT_KEYS,
  type CocoEvalResult,
  type IouType,
} from '../../eval/index.ts';
import { formatFixed3 } from '../../eval/numpy.ts';

interface EvalOptions {
  gt: string;
  results: string;
  iouType: IouType;
  json?: boolean;
}

function categoryTable(res: CocoEvalResult, names: Map<number, string>): string[] {
  const rows = res.perCategory.map((c) => [
    String(c.categoryId),
    names.get(c.categoryId) ?? '',
    formatFixed3(c.AP),
    formatFixed3(c.AP50),
    formatFixed3(c.AP75),
    formatFixed3(c.AR100),
  ]);
  const head = ['id', 'category', 'AP', 'AP50', 'AP75', 'AR100'];
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((v, j) => (j === 1 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

async function runEval(opts: EvalOptions): Promise<void> {
  const gt = await loadCocoJson(opts.gt);
  const dts = loadResults(gt, await readResultsFile(opts.results), opts.results);
  // Progress on stderr (cli-progress draws nothing when stderr is not a terminal).
  const bar = new SingleBar(
    {
      format: `evaluating ${opts.iouType} [{bar}] {percentage}% | {value}/{total} images | {rate} img/s | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(gt.images.length, 0, { rate: '0' });
  let res: CocoEvalResult;
  try {
    res = cocoEval(gt, dts, opts.iouType, (done) => {
      if (done % 50 === 0 || done === gt.images.length) {
        const rate = done / Math.max(1e-3, (Date.now() - started) / 1000);
        bar.update(done, { rate: rate.toFixed(0) });
      }
    });
  } finally {
    bar.stop();
  }
  const names = new Map(gt.categories.map((c) => [c.id, c.name]));
  const out: string[] = [
    `Evaluating ${dts.length} detections (${opts.results}) against ${gt.annotations.length} ground-truth annotations on ${gt.images.length} images, iouType=${opts.iouType}`,
    ...res.lines,
    '',
    `Per-category results (IoU=0.50:0.95, area=all, maxDets=100; -1: no ground truth):`,
    ...categoryTable(res, names),
  ];
  if (opts.json) {
    const obj: Record<string, number> = {};
    for (const k of STAT_KEYS) obj[k] = res.stats[k];
    out.push(JSON.stringify(obj));
  }
  process.stdout.write(out.join('\n') + '\n');
}

export function register(program: Command): Command {
  return program
    .command('eval')
    .description('Evaluate detection/segmentation results with COCO metrics (pycocotools-exact COCOeval)')
    .requiredOption('--gt <file>', 'ground truth, COCO instances JSON')
    .requiredOption(
      '--results <file>',
      'results JSON: a list of {image_id, category_id, score, segmentation|bbox}',
    )
    .addOption(new Option('--iou-type <type>', 'what to compare').choices(['segm', 'bbox']).default('segm'))
    .option('--json', 'also print the 12 stats as one JSON object on the last line of stdout')
    .action(async (opts: EvalOptions) => runEval(opts));
}
