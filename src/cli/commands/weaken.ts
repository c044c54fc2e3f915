// `wish weaken`: turn a fully annotated COCO JSON into a weak-label dataset under counts or a budget.
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { loadCocoJson } from '../../data/coco/load.ts';
import { rebaseFileName } from '../../data/coco/paths.ts';
import { costOf, countsFromMix, parseCosts, parseMix, type Costs } from '../../data/weak/budget.ts';
import { writeWeakDataset } from '../../data/weak/load.ts';
import { POINT_STRATEGIES, type PointStrategy } from '../../data/weak/points.ts';
import { formatTable } from '../../data/weak/table.ts';
import { weaken, type WeakenCounts } from '../../data/weak/weaken.ts';

interface Opts {
  in: string;
  out: string;
  counts?: string;
  budget?: string;
  costs: string;
  mix?: string;
  seed: string;
  unchosen: 'keep' | 'drop';
  pointStrategy: PointStrategy;
  boxSource: 'mask' | 'annotation';
  json?: boolean;
}

export function parseCounts(text: string): WeakenCounts {
  const parts = text.split(',').map((s) => s.trim());
  const n = parts.map(Number);
  if (
    parts.length < 3 ||
    parts.length > 4 ||
    n.some((v, i) => parts[i] === '' || !Number.isInteger(v) || v < 0)
  )
    throw new Error(`--counts must be Nt,Np,Nb or Nt,Np,Nb,Nmask (non-negative integers), got "${text}"`);
  return { tag: n[0], point: n[1], box: n[2], mask: n[3] ?? 0 };
}

export function register(program: Command): void {
  program
    .command('weaken')
    .description('derive a weak-label dataset (tags / points / boxes) from a fully annotated COCO JSON')
    .requiredOption('--in <coco.json>', 'fully annotated COCO instances JSON')
    .requiredOption('--out <weak.json>', 'weak-label dataset to write')
    .option(
      '--counts <Nt,Np,Nb[,Nm]>',
      'images per kind: tags, points, boxes (and optionally full masks); with --budget, checked against it',
    )
    .option('--budget <zeta>', 'total budget in cost units (with --mix)')
    .option('--costs <t,p,b>', 'cost of a tag, point and box image', '1,6,12')
    .option('--mix <tag=..,point=..,box=..>', 'fractions of the budget per kind (with --budget)')
    .option('--seed <n>', 'seed for the choice of images and for point sampling', '0')
    .addOption(
      new Option('--unchosen <what>', 'unchosen images: keep as label_type none, or drop')
        .choices(['keep', 'drop'])
        .default('keep'),
    )
    .addOption(
      new Option(
        '--point-strategy <s>',
        'uniform: a uniform pixel of the mask; center: the pixel farthest from the boundary',
      )
        .choices([...POINT_STRATEGIES])
        .default('uniform'),
    )
    .addOption(
      new Option('--box-source <s>', "mask: the mask's tight pixel box; annotation: the annotation's bbox")
        .choices(['mask', 'annotation'])
        .default('mask'),
    )
    .option('--json', 'also print the summary as one JSON object on the last line')
    .action(async (o: Opts) => {
      const costs: Costs = parseCosts(o.costs);
      let counts: WeakenCounts;
      if (o.counts !== undefined) {
        if (o.mix !== undefined) throw new Error('give either --counts or --budget with --mix, not both');
        counts = parseCounts(o.counts);
        // --counts with --budget: check Eq. 21 instead of deriving the counts.
        const spent = costOf({ tag: counts.tag, point: counts.point, box: counts.box }, costs);
        if (o.budget !== undefined && spent > Number(o.budget))
          throw new Error(
            `--counts ${o.counts} cost ${spent} at ${o.costs}, more than --budget ${o.budget} (Eq. 21)`,
          );
      } else {
        if (o.budget === undefined || o.mix === undefined)
          throw new Error('give --counts, or --budget together with --mix');
        const zeta = Number(o.budget);
        const c = countsFromMix(zeta, costs, parseMix(o.mix));
        counts = { tag: c.tag, point: c.point, box: c.box, mask: 0 };
      }
      const seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${o.seed}"`);

      const t0 = performance.now();
      const coco = await loadCocoJson(o.in);
      const bar = new cliProgress.SingleBar(
        {
          format: 'weaken [{bar}] {value}/{total} images | {speed} img/s | ETA {eta_formatted}',
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(coco.images.length, 0, { speed: '0' });
      const res = weaken(coco, {
        counts,
        seed,
        unchosen: o.unchosen,
        pointStrategy: o.pointStrategy,
        boxSource: o.boxSource,
        costs,
        source: o.in,
        onProgress: (done) => {
          if (done % 200 === 0 || done === coco.images.length) {
            const s = (performance.now() - t0) / 1000;
            bar.update(done, { speed: (done / Math.max(s, 1e-3)).toFixed(0) });
          }
        },
      });
      bar.stop();
      for (const im of res.dataset.images) im.file_name = rebaseFileName(o.in, o.out, im.file_name);
      await writeWeakDataset(o.out, res.dataset);

      const cost = { tag: costs.tag, point: costs.point, box: costs.box, mask: NaN, none: 0 };
      console.log(`wrote ${o.out} (seed ${seed})`);
      console.log(
        formatTable(
          ['kind', 'images', 'labels', 'cost', 'crowd skipped', 'empty skipped'],
          res.summary.map((r) => [
            r.kind,
            r.images,
            r.labels,
            Number.isNaN(cost[r.kind]) ? '-' : r.images * cost[r.kind],
            r.skippedCrowd,
            r.skippedEmpty,
          ]),
        ),
      );
      const budgetNote =
        o.budget !== undefined ? ` of budget ${Number(o.budget).toLocaleString('en-US')}` : '';
      console.log(
        `total cost ${res.cost!.toLocaleString('en-US')}${budgetNote} (tag:point:box = ${costs.tag}:${costs.point}:${costs.box})`,
      );
      if (res.imagesWithoutInstances > 0)
        console.log(
          `${res.imagesWithoutInstances} image(s) have no non-crowd instance and were never chosen`,
        );
      if (o.json) console.log(JSON.stringify({ counts, cost: res.cost, summary: res.summary }));
    });
}
