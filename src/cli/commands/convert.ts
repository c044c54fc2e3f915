// `wish convert voc|coco`: bring PASCAL VOC 2012 + SBD or COCO 2017, in their original layouts,
// into the project's COCO-shaped dataset (instance masks as compressed RLE for VOC/SBD).
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { validateCoco } from '../../data/coco/load.ts';
import type { CocoDataset } from '../../data/coco/types.ts';
import { writeCocoShapedJson } from '../../data/coco/write.ts';
import { convertCoco } from '../../data/convert/coco2017.ts';
import { convertVoc } from '../../data/convert/voc.ts';
import { formatTable } from '../../data/weak/table.ts';

function progressBar(label: string) {
  const t0 = performance.now();
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} | {speed}/s | ETA {eta_formatted}`, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done: number, total: number) {
      if (!started) bar.start(total, 0, { speed: '0' });
      started = true;
      bar.update(done, { speed: (done / Math.max((performance.now() - t0) / 1000, 1e-3)).toFixed(0) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function printSummary(ds: CocoDataset): void {
  const perCat = new Map<number, [number, Set<number>]>();
  for (const a of ds.annotations) {
    const e = perCat.get(a.category_id) ?? [0, new Set<number>()];
    e[0]++;
    e[1].add(a.image_id);
    perCat.set(a.category_id, e);
  }
  console.log(
    `${ds.images.length.toLocaleString('en-US')} images, ${ds.annotations.length.toLocaleString('en-US')} instances`,
  );
  console.log(
    formatTable(
      ['id', 'class', 'instances', 'images'],
      ds.categories.map((c) => [c.id, c.name, perCat.get(c.id)?.[0] ?? 0, perCat.get(c.id)?.[1].size ?? 0]),
    ),
  );
}

export function register(program: Command): void {
  const convert = program
    .command('convert')
    .description("convert public datasets to the project's COCO-shaped format");

  convert
    .command('voc')
    .description('PASCAL VOC 2012 (+ SBD for train_aug) instance masks')
    .requiredOption('--voc <dir>', 'VOC2012 folder (or a parent with VOCdevkit/VOC2012)')
    .option('--sbd <dir>', 'SBD folder with inst/, img/, train.txt, val.txt (or benchmark_RELEASE)')
    .addOption(
      new Option('--split <name>', 'which images')
        .choices(['train_aug', 'val', 'train'])
        .default('train_aug'),
    )
    .option('--list <file>', 'explicit image ids, one per line (overrides --split)')
    .requiredOption(
      '--out <file.json>',
      'dataset JSON to write; file_name entries are relative to its folder',
    )
    .action(
      async (o: {
        voc: string;
        sbd?: string;
        split: 'train_aug' | 'val' | 'train';
        list?: string;
        out: string;
      }) => {
        const bar = progressBar('convert voc');
        const res = await convertVoc({ ...o, onProgress: (d, t) => bar.update(d, t) });
        bar.stop();
        validateCoco(res.dataset, `${o.out} (before writing)`);
        await writeCocoShapedJson(o.out, res.dataset);
        console.log(
          `wrote ${o.out}: masks from VOC SegmentationObject ${res.fromVoc}, from SBD inst ${res.fromSbd}`,
        );
        printSummary(res.dataset);
      },
    );

  convert
    .command('coco')
    .description('COCO 2017 instances JSON + images folder')
    .requiredOption('--annotations <file>', 'instances_train2017.json or instances_val2017.json')
    .requiredOption('--images <dir>', 'folder holding the images named by file_name')
    .requiredOption(
      '--out <file.json>',
      'dataset JSON to write; file_name entries are relative to its folder',
    )
    .option('--rle', 'store every mask as compressed RLE (polygons rasterised as pycocotools does)')
    .option('--skip-missing', 'drop images whose file is missing (counted and reported) instead of failing')
    .option('--check-sizes', "check each image's real size against width/height (reads every image header)")
    .action(
      async (o: {
        annotations: string;
        images: string;
        out: string;
        rle?: boolean;
        skipMissing?: boolean;
        checkSizes?: boolean;
      }) => {
        const load = progressBar('load (MB)');
        const bar = progressBar('check images');
        const res = await convertCoco({
          ...o,
          onLoadProgress: (b, t) => load.update(Math.round(b / 2 ** 20), Math.round(t / 2 ** 20)),
          onProgress: (d, t) => {
            if (d === 1) load.stop();
            if (d % 500 === 0 || d === t) bar.update(d, t);
          },
        });
        load.stop();
        bar.stop();
        await writeCocoShapedJson(o.out, res.dataset);
        console.log(`wrote ${o.out}`);
        if (res.missing.length > 0)
          console.log(
            `skipped ${res.missing.length} image(s) whose file is missing, e.g. ${res.missing.slice(0, 3).join(', ')}`,
          );
        printSummary(res.dataset);
      },
    );
}
