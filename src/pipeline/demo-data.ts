// The demo's data: synthetic train and val scenes (src/data/synth) and weak labels derived from the train
// scenes' full masks under an annotation budget (src/data/weak). Both are deterministic from their settings
// and written atomically (synth builds a temp folder and renames it; the weak JSON is written to a temp
// file and renamed), so a folder or file that exists is complete: a rerun reuses it when its recorded
// settings match, and refuses (or with force replaces) one made with other settings.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CocoDataset } from '../data/coco/types.ts';
import { rebaseFileName } from '../data/coco/paths.ts';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../data/synth/write.ts';
import { resolveOptions } from '../data/synth/scene.ts';
import { countsFromMix, type Costs, type Mix } from '../data/weak/budget.ts';
import { loadWeakDataset, writeWeakDataset } from '../data/weak/load.ts';
import type { WeakDataset } from '../data/weak/types.ts';
import { weaken, type WeakenCounts } from '../data/weak/weaken.ts';

export interface SynthSetOptions {
  images: number;
  seed: number;
  size: number;
}

/** The `info.generator` record `writeSynthDataset` stores for these settings. */
function generatorOf(o: SynthSetOptions): Record<string, unknown> {
  return { seed: o.seed, images: o.images, ...resolveOptions({ size: o.size }) };
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Writes a synthetic set into `dir`, or reuses the one there when it was made with the same settings. */
export async function ensureSynthSet(
  dir: string,
  o: SynthSetOptions,
  force = false,
): Promise<{ reused: boolean; annotations: string }> {
  const annotations = path.join(dir, ANNOTATIONS_FILE);
  if (await exists(annotations)) {
    const info = (JSON.parse(await readFile(annotations, 'utf8')) as CocoDataset).info as
      { generator?: unknown } | undefined;
    if (sameJson(info?.generator, generatorOf(o))) return { reused: true, annotations };
    if (!force)
      throw new Error(
        `${dir}: holds a synthetic set made with other settings (${JSON.stringify(info?.generator)}); ` +
          `use another output folder, or --force to replace it`,
      );
  }
  await writeSynthDataset(dir, { images: o.images, seed: o.seed, size: o.size, force: true });
  return { reused: false, annotations };
}

export interface WeakSetOptions {
  budget: number;
  costs: Costs;
  mix: Mix;
  seed: number;
}

/** Images and labels per kind of a weak-label dataset. */
export interface KindCounts {
  images: Record<'tag' | 'point' | 'box', number>;
  /** Tags listed, points, boxes. */
  labels: Record<'tag' | 'point' | 'box', number>;
  cost: number;
}

export function kindCounts(ds: WeakDataset, costs: Costs): KindCounts {
  const images = { tag: 0, point: 0, box: 0 };
  const labels = { tag: 0, point: 0, box: 0 };
  const kindOf = new Map<number, string>();
  for (const im of ds.images) {
    kindOf.set(im.id, im.label_type);
    if (im.label_type === 'tag' || im.label_type === 'point' || im.label_type === 'box')
      images[im.label_type]++;
    if (im.label_type === 'tag') labels.tag += im.tags?.length ?? 0;
  }
  for (const a of ds.annotations) {
    const k = kindOf.get(a.image_id);
    if (k === 'point' || k === 'box') labels[k]++;
  }
  const cost = images.tag * costs.tag + images.point * costs.point + images.box * costs.box;
  return { images, labels, cost };
}

/**
 * Weak labels for the scenes in `annotations` under the budget (counts per kind from the mix, Eq. 21),
 * written to `file` with file_names rebased to its folder; reused when `file` records the same choice.
 */
export async function ensureWeakSet(
  file: string,
  annotations: string,
  o: WeakSetOptions,
  force = false,
): Promise<{ reused: boolean; counts: KindCounts; requested: WeakenCounts }> {
  const c = countsFromMix(o.budget, o.costs, o.mix);
  const requested: WeakenCounts = { tag: c.tag, point: c.point, box: c.box, mask: 0 };
  const gt = JSON.parse(await readFile(annotations, 'utf8')) as CocoDataset;
  const settings = {
    source: path.basename(path.dirname(annotations)),
    seed: o.seed,
    counts: requested,
    unchosen: 'drop',
    point_strategy: 'uniform',
    box_source: 'mask',
  } as const;
  // The scenes' generator (copied into the weak file's info by weaken) identifies the source set.
  const generator = (gt.info as { generator?: unknown } | undefined)?.generator;
  if (await exists(file)) {
    const ds = await loadWeakDataset(file);
    const info = ds.info as { weaken?: unknown; generator?: unknown } | undefined;
    if (sameJson(info?.weaken, settings) && sameJson(info?.generator, generator))
      return { reused: true, counts: kindCounts(ds, o.costs), requested };
    if (!force)
      throw new Error(
        `${file}: holds weak labels made with other settings (${JSON.stringify(info?.weaken)}); ` +
          `use another output folder, or --force to replace it`,
      );
  }
  const res = weaken(gt, {
    counts: requested,
    seed: o.seed,
    unchosen: 'drop',
    pointStrategy: 'uniform',
    boxSource: 'mask',
    costs: o.costs,
    source: settings.source,
  });
  for (const im of res.dataset.images) im.file_name = rebaseFileName(annotations, file, im.file_name);
  await writeWeakDataset(file, res.dataset);
  return { reused: false, counts: kindCounts(res.dataset, o.costs), requested };
}
