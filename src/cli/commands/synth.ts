// `wish synth`: write the built-in synthetic shapes dataset (PNG images + COCO JSON with full masks).
import { SingleBar, Presets } from 'cli-progress';
import { Command } from 'commander';
import { SYNTH_DEFAULTS } from '../../data/synth/scene.ts';
import { DEFAULT_CLASSES, parseClasses, SHAPE_CLASSES } from '../../data/synth/shapes.ts';
import { TEXTURE_KINDS, type TextureKind } from '../../data/synth/textures.ts';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../data/synth/write.ts';

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n)) throw new Error(`${name} must be an integer, got "${v}"`);
    return n;
  };
}

export function register(program: Command): Command {
  return program
    .command('synth')
    .description('write the synthetic shapes dataset: PNG images and a COCO JSON with full instance masks')
    .requiredOption('--out <dir>', 'output folder (gets images/ and annotations.json)')
    .requiredOption('--images <n>', 'number of images', int('--images'))
    .option('--size <px>', 'image side in pixels (square images)', int('--size'), SYNTH_DEFAULTS.size)
    .option('--seed <k>', 'random seed; the same seed gives byte-identical files', int('--seed'), 0)
    .option(
      '--classes <list>',
      `comma-separated shape classes, from: ${SHAPE_CLASSES.join(', ')}`,
      DEFAULT_CLASSES.join(','),
    )
    .option(
      '--min-instances <n>',
      'fewest instances per image',
      int('--min-instances'),
      SYNTH_DEFAULTS.minInstances,
    )
    .option(
      '--max-instances <n>',
      'most instances per image',
      int('--max-instances'),
      SYNTH_DEFAULTS.maxInstances,
    )
    .option(
      '--textures <list>',
      `fills for shapes and background, from: ${TEXTURE_KINDS.join(', ')} ('solid' alone: flat colours)`,
      TEXTURE_KINDS.join(','),
    )
    .option('--no-clutter', 'no distractor blobs and lines on the background')
    .option('--force', 'replace --out if it exists and is not empty')
    .action(
      async (o: {
        out: string;
        images: number;
        size: number;
        seed: number;
        classes: string;
        minInstances: number;
        maxInstances: number;
        textures: string;
        clutter: boolean;
        force?: boolean;
      }) => {
        const classes = parseClasses(o.classes);
        const textures = o.textures.split(',').map((t) => t.trim()) as TextureKind[];
        const unknown = textures.filter((t) => !TEXTURE_KINDS.includes(t));
        if (unknown.length > 0)
          throw new Error(`--textures: unknown ${unknown.join(', ')} (known: ${TEXTURE_KINDS.join(', ')})`);
        const bar =
          o.images >= 50
            ? new SingleBar(
                {
                  format: 'synth [{bar}] {value}/{total} images | {rate} img/s | ETA {eta_formatted}',
                  hideCursor: true,
                },
                Presets.shades_classic,
              )
            : undefined;
        const started = Date.now();
        bar?.start(o.images, 0, { rate: '-' });
        let result;
        try {
          result = await writeSynthDataset(o.out, {
            images: o.images,
            seed: o.seed,
            size: o.size,
            classes,
            minInstances: o.minInstances,
            maxInstances: o.maxInstances,
            textures,
            ...(o.clutter ? {} : { blobs: [0, 0] as [number, number], lines: [0, 0] as [number, number] }),
            force: o.force,
            onProgress: (done) => {
              if (done % 10 === 0 || done === o.images) {
                bar?.update(done, { rate: ((done * 1000) / Math.max(1, Date.now() - started)).toFixed(0) });
              }
            },
          });
        } finally {
          bar?.stop();
        }
        const seconds = (Date.now() - started) / 1000;
        console.log(
          `wrote ${result.images} images (${o.size}x${o.size}, classes ${classes.join(', ')}) with ${result.annotations} instance masks ` +
            `to ${result.dir} (${ANNOTATIONS_FILE}) in ${seconds.toFixed(2)} s, ${(result.images / seconds).toFixed(0)} images/s`,
        );
      },
    );
}
