// Benchmark of `wish eval`: writes a deterministic large case (seeded) and times segm and bbox
// evaluation. The case stays on disk (gt.json, dt.json, dt_bbox.json) so pycocotools can be timed on
// exactly the same files elsewhere (pycocotools cannot be installed on the build machine), e.g.:
//   import time; from pycocotools.coco import COCO; from pycocotools.cocoeval import COCOeval
//   gt = COCO('bench/out/eval-case/gt.json')
//   for kind, f in [('segm', 'dt.json'), ('bbox', 'dt_bbox.json')]:
//       t0 = time.time(); e = COCOeval(gt, gt.loadRes('bench/out/eval-case/' + f), kind)
//       e.evaluate(); e.accumulate(); e.summarize(); print(kind, time.time() - t0)
// and the stats compared with the JSON line this script prints last.
// Usage: npm run bench:eval -- [--out DIR] [--images 500] [--classes 20] [--dets 50] [--seed 1] [--regen]
//        [--repeat 3]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  rleArea,
  rleFromPolygon,
  rleMerge,
  rleToBbox,
  rleToCoco,
  rleToUncompressed,
  type Rle,
} from '../src/data/mask/index.ts';
import { loadCocoJson } from '../src/data/coco/index.ts';
import {
  cocoEval,
  loadResults,
  readResultsFile,
  type CocoEvalResult,
  type IouType,
} from '../src/eval/index.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'bench/out/eval-case' },
    images: { type: 'string', default: '500' },
    classes: { type: 'string', default: '20' },
    dets: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    regen: { type: 'boolean', default: false },
    repeat: { type: 'string', default: '3' },
  },
});
const opts = {
  images: Number(args.images),
  classes: Number(args.classes),
  dets: Number(args.dets),
  seed: Number(args.seed),
};
for (const [k, v] of Object.entries(opts)) {
  if (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1))
    throw new Error(`--${k} must be a positive integer, got ${v}`);
}
const outDir = path.resolve(args.out!);
const repeats = Number(args.repeat);
if (!Number.isInteger(repeats) || repeats < 1)
  throw new Error(`--repeat must be a positive integer, got ${args.repeat}`);

// ---------------------------------------------------------------- case generation (seeded)
const rng = xoroshiro128plus(opts.seed);
const rand = () => uniformFloat64(rng);
const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
const randInt = (lo: number, hi: number) => Math.floor(uniform(lo, hi + 1));

/** A star-shaped polygon around (cx, cy): vertices at increasing angles with jittered radii. */
function blob(cx: number, cy: number, rx: number, ry: number): number[] {
  const k = randInt(6, 24);
  const phase = uniform(0, 2 * Math.PI);
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    const a = phase + (2 * Math.PI * j) / k;
    const s = uniform(0.65, 1);
    out.push(+(cx + Math.cos(a) * rx * s).toFixed(2), +(cy + Math.sin(a) * ry * s).toFixed(2));
  }
  return out;
}

/** A detection of a ground-truth shape: every vertex shifted and jittered by a fraction of its size. */
function jitter(poly: number[], size: number, amount: number): number[] {
  const dx = uniform(-amount, amount) * size;
  const dy = uniform(-amount, amount) * size;
  return poly.map(
    (v, i) => +(v + (i % 2 === 0 ? dx : dy) + uniform(-amount, amount) * size * 0.5).toFixed(2),
  );
}

function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value));
  renameSync(tmp, file); // never leave a half-written case behind
}

function generate(): void {
  mkdirSync(outDir, { recursive: true });
  const images: { id: number; file_name: string; width: number; height: number }[] = [];
  const categories = Array.from({ length: opts.classes }, (_, i) => ({
    id: i + 1,
    name: `class${i + 1}`,
    supercategory: 'shape',
  }));
  const annotations: Record<string, unknown>[] = [];
  const dtSegm: Record<string, unknown>[] = [];
  const dtBox: Record<string, unknown>[] = [];
  const score = () => Math.round(rand() * 1000) / 1000; // 3 decimals: realistic score ties
  const bar = new SingleBar(
    { format: 'generating [{bar}] {value}/{total} images | ETA {eta_formatted}', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(opts.images, 0);
  for (let i = 1; i <= opts.images; i++) {
    const width = randInt(320, 640);
    const height = randInt(240, 480);
    images.push({ id: i, file_name: `${String(i).padStart(6, '0')}.png`, width, height });
    const addDet = (poly: number[][], cat: number) => {
      const rle = rleMerge(
        poly.map((p) => rleFromPolygon(p, height, width)),
        false,
      );
      if (rleArea(rle) === 0) return;
      const s = score();
      dtSegm.push({ image_id: i, category_id: cat, segmentation: rleToCoco(rle), score: s });
      dtBox.push({ image_id: i, category_id: cat, bbox: rleToBbox(rle), score: s });
    };
    const nObj = randInt(4, 16);
    let nDet = 0;
    for (let o = 0; o < nObj; o++) {
      const cat = randInt(1, opts.classes);
      const size = Math.exp(uniform(Math.log(6), Math.log(Math.min(width, height) / 2.5)));
      const cx = uniform(0, width);
      const cy = uniform(0, height);
      const parts = [blob(cx, cy, size, size * uniform(0.5, 1.5))];
      if (rand() < 0.15) parts.push(blob(cx + size * 1.5, cy, size / 2, size / 2)); // occluded: two parts
      const rle: Rle = rleMerge(
        parts.map((p) => rleFromPolygon(p, height, width)),
        false,
      );
      const area = rleArea(rle);
      if (area === 0) continue;
      const crowd = rand() < 0.04;
      annotations.push({
        id: annotations.length + 1,
        image_id: i,
        category_id: cat,
        segmentation: crowd ? rleToUncompressed(rle) : parts,
        area,
        bbox: rleToBbox(rle),
        iscrowd: crowd ? 1 : 0,
      });
      // Two or three detections per object: a good one, looser ones, sometimes the wrong class.
      const copies = randInt(2, 3);
      for (let c = 0; c < copies; c++) {
        const wrong = rand() < 0.1;
        addDet(
          parts.map((p) => jitter(p, size, c === 0 ? 0.05 : 0.25)),
          wrong ? randInt(1, opts.classes) : cat,
        );
        nDet++;
      }
    }
    // False positives up to the per-image detection budget.
    for (; nDet < opts.dets; nDet++) {
      const size = Math.exp(uniform(Math.log(6), Math.log(Math.min(width, height) / 3)));
      addDet([blob(uniform(0, width), uniform(0, height), size, size)], randInt(1, opts.classes));
    }
    bar.update(i);
  }
  bar.stop();
  writeJson(path.join(outDir, 'gt.json'), {
    info: { description: 'wish bench:eval case', ...opts },
    images,
    categories,
    annotations,
  });
  writeJson(path.join(outDir, 'dt.json'), dtSegm);
  writeJson(path.join(outDir, 'dt_bbox.json'), dtBox);
  writeJson(path.join(outDir, 'meta.json'), opts);
}

const metaFile = path.join(outDir, 'meta.json');
const upToDate =
  !args.regen &&
  existsSync(metaFile) &&
  JSON.stringify(JSON.parse(readFileSync(metaFile, 'utf8'))) === JSON.stringify(opts);
if (!upToDate) {
  const t0 = performance.now();
  generate();
  console.log(`case written to ${outDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else console.log(`reusing the case in ${outDir} (same parameters; --regen to rebuild)`);

// ---------------------------------------------------------------- timing
// Each kind runs `--repeat` times in this process (the first run is cold, later ones have a warm JIT;
// the best is reported next to the first), then once through the CLI as a user runs it.
const seconds = (t0: number) => (performance.now() - t0) / 1000;
const report: Record<string, unknown> = { ...opts, repeat: repeats, case: outDir };
for (const iouType of ['segm', 'bbox'] as IouType[]) {
  const dtFile = path.join(outDir, iouType === 'segm' ? 'dt.json' : 'dt_bbox.json');
  const runs: { loadGt: number; loadResults: number; evaluate: number; total: number }[] = [];
  let res: CocoEvalResult | undefined;
  let counts = { detections: 0, groundTruth: 0 };
  for (let rep = 0; rep < repeats; rep++) {
    let t0 = performance.now();
    const gt = await loadCocoJson(path.join(outDir, 'gt.json'));
    const loadGt = seconds(t0);
    t0 = performance.now();
    const dts = loadResults(gt, await readResultsFile(dtFile), dtFile);
    const loadRes = seconds(t0);
    t0 = performance.now();
    res = cocoEval(gt, dts, iouType);
    const evaluate = seconds(t0);
    runs.push({ loadGt, loadResults: loadRes, evaluate, total: loadGt + loadRes + evaluate });
    counts = { detections: dts.length, groundTruth: gt.annotations.length };
  }
  // The CLI as a user runs it: process start, tsx, loading, evaluation, printing.
  const t0 = performance.now();
  const cli = spawnSync(
    process.execPath,
    [
      'bin/wish.js',
      'eval',
      '--gt',
      path.join(outDir, 'gt.json'),
      '--results',
      dtFile,
      '--iou-type',
      iouType,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  const cliSeconds = seconds(t0);
  if (cli.status !== 0) throw new Error(`wish eval failed: ${cli.stderr}`);
  const cliStats = JSON.parse(cli.stdout.trimEnd().split('\n').pop()!);
  if (cliStats.AP !== res!.stats.AP) throw new Error('the CLI and the in-process evaluation disagree');
  const cold = runs[0];
  const best = runs.reduce((a, b) => (b.total < a.total ? b : a));
  const line = (r: (typeof runs)[number]) =>
    `load gt ${r.loadGt.toFixed(2)} s + load results ${r.loadResults.toFixed(2)} s + evaluate/accumulate/summarize ` +
    `${r.evaluate.toFixed(2)} s = ${r.total.toFixed(2)} s (${(counts.detections / r.total).toFixed(0)} det/s)`;
  console.log(
    `${iouType}: ${counts.detections} detections, ${counts.groundTruth} ground truth, AP ${res!.stats.AP.toFixed(4)}`,
  );
  console.log(`  cold: ${line(cold)}`);
  if (repeats > 1) console.log(`  best of ${repeats}: ${line(best)}`);
  console.log(
    `  wish eval CLI (process start included): ${cliSeconds.toFixed(2)} s (${(counts.detections / cliSeconds).toFixed(0)} det/s)`,
  );
  report[iouType] = {
    ...counts,
    cold,
    best,
    detectionsPerSecondCold: counts.detections / cold.total,
    cliSeconds,
    detectionsPerSecondCli: counts.detections / cliSeconds,
    stats: res!.stats,
  };
}
console.log(JSON.stringify(report));
