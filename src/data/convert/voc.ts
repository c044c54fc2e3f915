// PASCAL VOC 2012 + SBD -> the project's COCO-shaped dataset with instance masks.
// Splits: 'val' = VOC2012 ImageSets/Segmentation/val.txt (1,449 images, VOC masks);
// 'train_aug' = (VOC train + SBD train + SBD val) minus VOC val (10,582 images with the real data).
// An image with VOC instance masks (SegmentationObject) takes them; otherwise SBD's inst/*.mat.
import { access, readFile } from 'node:fs/promises';
import { join, relative, dirname, resolve } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import type { CocoAnnotation, CocoDataset, CocoImage } from '../coco/types.ts';
import { readLabelPng } from './label-png.ts';
import { readMat5, type MatNumeric, type MatStruct } from './mat5.ts';
import { sbdInstances, vocInstances, type NewAnnotation } from './instances.ts';
import { VOC_CLASSES } from './voc-palette.ts';

export interface VocConvertOptions {
  /** VOC2012 folder (with JPEGImages/, SegmentationObject/, ...), or a parent holding VOCdevkit/VOC2012. */
  voc: string;
  /** SBD folder (with inst/, img/, train.txt, val.txt), or a parent holding benchmark_RELEASE/dataset. */
  sbd?: string;
  split: 'train_aug' | 'val' | 'train';
  /** Explicit image ids instead of a split (one per line, e.g. a train_aug.txt). */
  list?: string;
  /** Where the JSON will be written: file_name is made relative to its folder. */
  out: string;
  onProgress?: (done: number, total: number) => void;
}

export interface VocConvertResult {
  dataset: CocoDataset;
  fromVoc: number;
  fromSbd: number;
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

async function firstDir(root: string, subs: string[], marker: string, what: string): Promise<string> {
  for (const s of subs) if (await exists(join(root, s, marker))) return join(root, s);
  throw new Error(`${root}: not a ${what} folder (no ${subs.map((s) => join(s, marker)).join(' or ')})`);
}

async function readIds(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read image list: ${(err as Error).message}`);
  }
  const ids = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  ids.forEach((id, i) => {
    if (!/^\d{4}_\d{6}$/.test(id))
      throw new Error(`${file}: line ${i + 1}: "${id}" is not a VOC image id like 2007_000032`);
  });
  return ids;
}

/** VOC ids are YYYY_NNNNNN: the integer YYYYNNNNNN is unique and reads back to the name. */
export function vocImageId(name: string): number {
  return Number(name.replace('_', ''));
}

export async function convertVoc(o: VocConvertOptions): Promise<VocConvertResult> {
  const voc = await firstDir(
    o.voc,
    ['.', 'VOC2012', join('VOCdevkit', 'VOC2012')],
    'JPEGImages',
    'PASCAL VOC 2012',
  );
  const sbd = o.sbd
    ? await firstDir(o.sbd, ['.', 'dataset', join('benchmark_RELEASE', 'dataset')], 'inst', 'SBD')
    : undefined;
  const segSets = join(voc, 'ImageSets', 'Segmentation');

  let ids: string[];
  if (o.list) ids = await readIds(o.list);
  else if (o.split === 'val') ids = await readIds(join(segSets, 'val.txt'));
  else if (o.split === 'train') ids = await readIds(join(segSets, 'train.txt'));
  else {
    if (!sbd)
      throw new Error('the train_aug split needs SBD (--sbd): it adds SBD train and val images to VOC train');
    const val = new Set(await readIds(join(segSets, 'val.txt')));
    const all = new Set([
      ...(await readIds(join(segSets, 'train.txt'))),
      ...(await readIds(join(sbd, 'train.txt'))),
      ...(await readIds(join(sbd, 'val.txt'))),
    ]);
    ids = [...all].filter((id) => !val.has(id));
  }
  ids = [...new Set(ids)].sort();

  const outDir = dirname(resolve(o.out));
  const images: CocoImage[] = [];
  const annotations: CocoAnnotation[] = [];
  let fromVoc = 0;
  let fromSbd = 0;
  for (let n = 0; n < ids.length; n++) {
    const name = ids[n];
    const imageId = vocImageId(name);
    const objPng = join(voc, 'SegmentationObject', `${name}.png`);
    const matFile = sbd ? join(sbd, 'inst', `${name}.mat`) : '';
    let jpg = join(voc, 'JPEGImages', `${name}.jpg`);
    if (!(await exists(jpg)) && sbd && (await exists(join(sbd, 'img', `${name}.jpg`))))
      jpg = join(sbd, 'img', `${name}.jpg`);
    let meta: Metadata;
    try {
      meta = await sharp(jpg).metadata();
    } catch (err) {
      throw new Error(`${jpg}: image ${name}: cannot read the image: ${(err as Error).message}`);
    }
    const w = meta.width!;
    const h = meta.height!;

    let anns: NewAnnotation[];
    if (await exists(objPng)) {
      const clsPng = join(voc, 'SegmentationClass', `${name}.png`);
      const obj = await readLabelPng(objPng);
      const cls = await readLabelPng(clsPng);
      for (const [m, f] of [
        [obj, objPng],
        [cls, clsPng],
      ] as const)
        if (m.width !== w || m.height !== h)
          throw new Error(`${f}: label map is ${m.width}x${m.height} but the image ${jpg} is ${w}x${h}`);
      anns = vocInstances(imageId, obj.data, cls.data, h, w, objPng);
      fromVoc++;
    } else if (sbd && (await exists(matFile))) {
      anns = sbdInstances(imageId, ...(await readSbdInst(matFile, w, h)), h, w, matFile);
      fromSbd++;
    } else {
      throw new Error(
        `image ${name}: no instance masks: neither ${objPng}${sbd ? ` nor ${matFile}` : ' (and no --sbd given)'} exists`,
      );
    }
    images.push({ id: imageId, file_name: relative(outDir, jpg).split('\\').join('/'), width: w, height: h });
    for (const a of anns) annotations.push({ id: annotations.length + 1, ...a });
    o.onProgress?.(n + 1, ids.length);
  }
  const dataset: CocoDataset = {
    info: {
      description: `PASCAL VOC 2012${sbd ? ' + SBD' : ''} ${o.list ? `(list ${o.list})` : o.split} instance masks`,
      converted_by: 'wish convert voc',
      sources: { voc: fromVoc, sbd: fromSbd },
    },
    images,
    annotations,
    categories: VOC_CLASSES.map((name, i) => ({ id: i + 1, name, supercategory: 'voc' })),
  };
  return { dataset, fromVoc, fromSbd };
}

/** GTinst.Segmentation (column-major, dims [h, w]) and GTinst.Categories from an SBD inst/*.mat. */
async function readSbdInst(file: string, w: number, h: number): Promise<[Float64Array, Float64Array]> {
  const vars = readMat5(await readFile(file), file);
  const gt = vars.GTinst as MatStruct | undefined;
  if (!gt || gt.kind !== 'struct' || gt.elements.length !== 1)
    throw new Error(
      `${file}: expected a 1x1 struct "GTinst" (SBD instance file), found ${Object.keys(vars).join(', ') || 'nothing'}`,
    );
  const seg = gt.elements[0].Segmentation as MatNumeric | undefined;
  const cats = gt.elements[0].Categories as MatNumeric | undefined;
  if (!seg || seg.kind !== 'numeric') throw new Error(`${file}: GTinst has no numeric field "Segmentation"`);
  if (!cats || cats.kind !== 'numeric') throw new Error(`${file}: GTinst has no numeric field "Categories"`);
  if (seg.dims.length !== 2 || seg.dims[0] !== h || seg.dims[1] !== w)
    throw new Error(
      `${file}: GTinst.Segmentation is ${seg.dims.join('x')} (rows x columns) but the image is ${h}x${w}`,
    );
  return [seg.data, cats.data];
}
