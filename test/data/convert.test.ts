import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { loadCocoJson } from '../../src/data/coco/index.ts';
import { convertCoco, convertVoc, readMat5, vocColormap, vocImageId } from '../../src/data/convert/index.ts';
import { annToRle, decode, rleToCoco } from '../../src/data/mask/index.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

// ---- a hand-built MAT v5 writer (little-endian), just enough for SBD's GTinst -------------------
const MI = { INT8: 1, UINT8: 2, INT32: 5, UINT32: 6, DOUBLE: 9, MATRIX: 14, COMPRESSED: 15 };
const CLS = { cell: 1, struct: 2, sparse: 5, double: 6, uint8: 9 };

function element(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(type, 0);
  head.writeUInt32LE(data.length, 4);
  const pad = Buffer.alloc((8 - (data.length % 8)) % 8);
  return Buffer.concat([head, data, pad]);
}
const i32 = (v: number[]) => Buffer.from(Int32Array.from(v).buffer);
const u32 = (v: number[]) => Buffer.from(Uint32Array.from(v).buffer);
const f64 = (v: number[]) => Buffer.from(Float64Array.from(v).buffer);

function matrix(cls: number, dims: number[], name: string, parts: Buffer[], flags = 0): Buffer {
  return element(
    MI.MATRIX,
    Buffer.concat([
      element(MI.UINT32, u32([cls | flags, 0])),
      element(MI.INT32, i32(dims)),
      element(MI.INT8, Buffer.from(name)),
      ...parts,
    ]),
  );
}

function struct(name: string, fields: Record<string, (n: string) => Buffer>): Buffer {
  const names = Object.keys(fields);
  const nameBytes = Buffer.alloc(32 * names.length);
  names.forEach((n, i) => nameBytes.write(n, i * 32, 'latin1'));
  // field-name length as a "small data element": size 4 in the top half of the type word
  const small = Buffer.alloc(8);
  small.writeUInt32LE((4 << 16) | MI.INT32, 0);
  small.writeInt32LE(32, 4);
  return matrix(CLS.struct, [1, 1], name, [
    small,
    element(MI.INT8, nameBytes),
    ...names.map((n) => fields[n]('')),
  ]);
}

function matFile(vars: Buffer[], compress: boolean): Buffer {
  const header = Buffer.alloc(128, ' ');
  header.write('MATLAB 5.0 MAT-file, written by a wish test', 0, 'latin1');
  header.fill(0, 116, 124);
  header.writeUInt16LE(0x0100, 124);
  header.write('IM', 126, 'latin1');
  const body = vars.map((v) => {
    if (!compress) return v;
    const z = deflateSync(v);
    const head = Buffer.alloc(8);
    head.writeUInt32LE(MI.COMPRESSED, 0);
    head.writeUInt32LE(z.length, 4);
    return Buffer.concat([head, z]);
  });
  return Buffer.concat([header, ...body]);
}

/** SBD inst file: Segmentation (uint8, rows x cols, column-major), Boundaries (cell), Categories (double stored as uint8). */
function sbdInst(rows: number[][], categories: number[], compress = true): Buffer {
  const h = rows.length;
  const w = rows[0].length;
  const colMajor: number[] = [];
  for (let x = 0; x < w; x++) for (let y = 0; y < h; y++) colMajor.push(rows[y][x]);
  const sparse = matrix(
    CLS.sparse,
    [h, w],
    '',
    [
      element(MI.INT32, i32([0])),
      element(
        MI.INT32,
        i32(
          Array(w + 1)
            .fill(0)
            .map((_, j) => (j > 0 ? 1 : 0)),
        ),
      ),
      element(MI.UINT8, Buffer.from([1])),
    ],
    0x200,
  );
  const gt = struct('GTinst', {
    Segmentation: () => matrix(CLS.uint8, [h, w], '', [element(MI.UINT8, Buffer.from(colMajor))]),
    Boundaries: () => matrix(CLS.cell, [2, 1], '', [sparse, element(MI.MATRIX, Buffer.alloc(0))]),
    Categories: () =>
      matrix(CLS.double, [categories.length, 1], '', [
        // MATLAB stores small doubles in a narrower type when it can; cover both.
        compress ? element(MI.UINT8, Buffer.from(categories)) : element(MI.DOUBLE, f64(categories)),
      ]),
  });
  return matFile([gt], compress);
}

// ---- fixtures in the original layouts ----------------------------------------------------------
const W = 6;
const H = 5;
const V = 255;
// VOC train image 2007_000001: person (15) instance 1 with a void boundary, aeroplane (1) instance 2.
const obj1 = [
  [0, 1, 1, V, 0, 0],
  [0, 1, 1, V, 2, 2],
  [0, V, V, V, 2, 2],
  [0, 0, 0, 0, 2, 0],
  [0, 0, 0, 0, 0, 0],
];
const cls1 = obj1.map((r) => r.map((v) => (v === 1 ? 15 : v === 2 ? 1 : v)));
// VOC val image 2007_000002: one cat (8).
const obj2 = [
  [0, 0, 0, 0, 0, 0],
  [0, 0, 1, 1, 0, 0],
  [0, 0, 1, 1, 0, 0],
  [0, 0, 0, 0, 0, 0],
  [0, 0, 0, 0, 0, 0],
];
const cls2 = obj2.map((r) => r.map((v) => (v === 1 ? 8 : v)));
// SBD-only image 2008_000003: dog (12) and two horses (13).
const seg3 = [
  [1, 1, 0, 0, 0, 0],
  [1, 1, 0, 0, 3, 3],
  [0, 0, 0, 2, 3, 3],
  [0, 0, 2, 2, 0, 0],
  [0, 0, 0, 0, 0, 0],
];
const cats3 = [12, 13, 13];

async function palettePng(file: string, rows: number[][]): Promise<void> {
  const cmap = vocColormap();
  const rgb = Buffer.alloc(W * H * 3);
  rows.flat().forEach((v, i) => rgb.set(cmap.subarray(v * 3, v * 3 + 3), i * 3));
  await mkdir(dirname(file), { recursive: true });
  await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .png({ palette: true, colours: 256, dither: 0 })
    .toFile(file);
}

async function grayPng(file: string, rows: number[][]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await sharp(Buffer.from(rows.flat()), { raw: { width: W, height: H, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(file);
}

async function jpeg(file: string, w = W, h = H): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: 90, g: 120, b: 200 } } })
    .jpeg()
    .toFile(file);
}

async function text(file: string, lines: string[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, lines.join('\n') + '\n');
}

let dir: string;
let voc: string;
let sbd: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wish-convert-'));
  voc = join(dir, 'VOCdevkit', 'VOC2012');
  sbd = join(dir, 'benchmark_RELEASE', 'dataset');
  for (const id of ['2007_000001', '2007_000002', '2008_000003'])
    await jpeg(join(voc, 'JPEGImages', `${id}.jpg`));
  await palettePng(join(voc, 'SegmentationObject', '2007_000001.png'), obj1);
  await palettePng(join(voc, 'SegmentationClass', '2007_000001.png'), cls1);
  await grayPng(join(voc, 'SegmentationObject', '2007_000002.png'), obj2); // index PNGs are accepted too
  await grayPng(join(voc, 'SegmentationClass', '2007_000002.png'), cls2);
  await text(join(voc, 'ImageSets', 'Segmentation', 'train.txt'), ['2007_000001']);
  await text(join(voc, 'ImageSets', 'Segmentation', 'val.txt'), ['2007_000002']);
  await mkdir(join(sbd, 'inst'), { recursive: true });
  await writeFile(join(sbd, 'inst', '2008_000003.mat'), sbdInst(seg3, cats3));
  // SBD also annotates the VOC images; VOC's own masks must win for 2007_000001.
  await writeFile(join(sbd, 'inst', '2007_000001.mat'), sbdInst(seg3, cats3, false));
  await jpeg(join(sbd, 'img', '2008_000003.jpg'));
  await text(join(sbd, 'train.txt'), ['2008_000003', '2007_000001']);
  await text(join(sbd, 'val.txt'), ['2007_000002']); // a VOC val image: never in train_aug
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Rows of 0/1 for the pixels of `rows` equal to k. */
const maskOf = (rows: number[][], k: number) => rows.map((r) => r.map((v) => (v === k ? 1 : 0)));
function decoded(seg: unknown): number[][] {
  const m = decode(seg as never);
  return Array.from({ length: m.height }, (_, y) =>
    Array.from(m.data.subarray(y * m.width, (y + 1) * m.width)),
  );
}

describe('MAT v5 reader', () => {
  it('reads a compressed and an uncompressed SBD GTinst exactly', () => {
    for (const compress of [true, false]) {
      const v = readMat5(sbdInst(seg3, cats3, compress), 'x.mat');
      const gt = v.GTinst;
      assert.equal(gt.kind, 'struct');
      if (gt.kind !== 'struct') return;
      assert.deepEqual(gt.fieldNames, ['Segmentation', 'Boundaries', 'Categories']);
      const seg = gt.elements[0].Segmentation;
      assert.ok(seg.kind === 'numeric' && seg.class === 'uint8');
      assert.deepEqual(seg.dims, [H, W]);
      assert.equal(seg.data[1 * H + 0], 1); // column-major: (row 0, col 1)
      assert.equal(seg.data[4 * H + 1], 3);
      const cats = gt.elements[0].Categories;
      assert.ok(cats.kind === 'numeric' && cats.class === 'double');
      assert.deepEqual(Array.from(cats.data), cats3);
      const b = gt.elements[0].Boundaries;
      assert.ok(b.kind === 'cell' && b.cells.length === 2);
      assert.ok(b.cells[0].kind === 'sparse' && b.cells[0].logical);
      assert.deepEqual(Array.from(b.cells[0].jc), [0, 1, 1, 1, 1, 1, 1]);
    }
  });

  it('names the file on truncated or non-v5 input', () => {
    const good = sbdInst(seg3, cats3, false);
    assert.throws(() => readMat5(good.subarray(0, 200), 'cut.mat'), /cut\.mat: MAT-file: truncated/);
    assert.throws(() => readMat5(Buffer.alloc(128), 'h5.mat'), /h5\.mat: MAT-file: not a Level 5 MAT-file/);
    const bad = Buffer.from(sbdInst(seg3, cats3, true));
    bad.fill(0x55, 140, 160);
    assert.throws(() => readMat5(bad, 'z.mat'), /z\.mat: MAT-file: compressed element at byte 128/);
  });
});

describe('convert voc', () => {
  it('builds train_aug from VOC train + SBD train/val minus VOC val, with exact instance masks', async () => {
    const out = join(dir, 'out', 'train_aug.json');
    const {
      dataset: ds,
      fromVoc,
      fromSbd,
    } = await convertVoc({ voc: dir, sbd: join(dir, 'benchmark_RELEASE'), split: 'train_aug', out });
    assert.deepEqual([fromVoc, fromSbd], [1, 1]);
    assert.deepEqual(
      ds.images.map((im) => [im.id, im.file_name, im.width, im.height]),
      [
        [2007000001, '../VOCdevkit/VOC2012/JPEGImages/2007_000001.jpg', W, H],
        [2008000003, '../VOCdevkit/VOC2012/JPEGImages/2008_000003.jpg', W, H],
      ],
    );
    assert.equal(ds.categories.length, 20);
    assert.deepEqual(ds.categories[14], { id: 15, name: 'person', supercategory: 'voc' });
    const a1 = ds.annotations.filter((a) => a.image_id === 2007000001);
    assert.deepEqual(
      a1.map((a) => a.category_id),
      [15, 1],
    );
    assert.deepEqual(decoded(a1[0].segmentation), maskOf(obj1, 1)); // void pixels are not part of the person
    assert.deepEqual(decoded(a1[1].segmentation), maskOf(obj1, 2));
    assert.deepEqual(
      a1.map((a) => [a.bbox, a.area]),
      [
        [[1, 0, 2, 2], 4],
        [[4, 1, 2, 3], 5],
      ],
    );
    const a3 = ds.annotations.filter((a) => a.image_id === 2008000003);
    assert.deepEqual(
      a3.map((a) => a.category_id),
      cats3,
    );
    for (let k = 1; k <= 3; k++) assert.deepEqual(decoded(a3[k - 1].segmentation), maskOf(seg3, k));
    assert.deepEqual(
      ds.annotations.map((a) => a.id),
      [1, 2, 3, 4, 5],
    );
  });

  it('converts val from VOC masks (index PNGs) and refuses train_aug without SBD', async () => {
    const { dataset: ds } = await convertVoc({ voc: voc, split: 'val', out: join(dir, 'val.json') });
    assert.deepEqual(
      ds.images.map((im) => im.id),
      [2007000002],
    );
    assert.equal(ds.annotations.length, 1);
    assert.equal(ds.annotations[0].category_id, 8);
    assert.deepEqual(decoded(ds.annotations[0].segmentation), maskOf(obj2, 1));
    await assert.rejects(convertVoc({ voc, split: 'train_aug', out: join(dir, 'x.json') }), /needs SBD/);
    assert.equal(vocImageId('2011_003276'), 2011003276);
  });

  it('reports a missing mask, a bad list line and a size mismatch with the file', async () => {
    const list = join(dir, 'list.txt');
    await text(list, ['2007_000001', '2009_999999']);
    await jpeg(join(voc, 'JPEGImages', '2009_999999.jpg'));
    await assert.rejects(
      convertVoc({ voc, sbd, split: 'train', list, out: join(dir, 'x.json') }),
      /image 2009_999999: no instance masks: neither .*SegmentationObject\/2009_999999\.png nor .*inst\/2009_999999\.mat exists/,
    );
    await text(list, ['2007_1']);
    await assert.rejects(
      convertVoc({ voc, split: 'train', list, out: join(dir, 'x.json') }),
      /list\.txt: line 1: "2007_1" is not a VOC image id/,
    );
    await jpeg(join(voc, 'JPEGImages', '2007_000001.jpg'), W + 1, H);
    await assert.rejects(
      convertVoc({ voc, split: 'train', out: join(dir, 'x.json') }),
      /SegmentationObject\/2007_000001\.png: label map is 6x5 but the image .* is 7x5/,
    );
    await jpeg(join(voc, 'JPEGImages', '2007_000001.jpg'));
  });

  it('runs as `wish convert voc` and writes a dataset that loads', () => {
    const out = join(dir, 'cli', 'val.json');
    const stdout = execFileSync(
      process.execPath,
      ['bin/wish.js', 'convert', 'voc', '--voc', voc, '--split', 'val', '--out', out],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    assert.match(stdout, /1 images, 1 instances/);
    assert.match(stdout, /8\s+cat\s+1\s+1/);
    return loadCocoJson(out).then((ds) => assert.equal(ds.annotations.length, 1));
  });
});

describe('convert coco', () => {
  const gt = () => ({
    info: { year: 2017 },
    images: [
      { id: 1, file_name: 'a.jpg', width: W, height: H },
      { id: 2, file_name: 'b.jpg', width: W, height: H },
    ],
    categories: [{ id: 18, name: 'dog', supercategory: 'animal' }],
    annotations: [
      {
        id: 5,
        image_id: 1,
        category_id: 18,
        iscrowd: 0,
        area: 4,
        bbox: [1, 1, 2, 2],
        segmentation: [[1, 1, 3, 1, 3, 3, 1, 3]],
      },
      {
        id: 6,
        image_id: 2,
        category_id: 18,
        iscrowd: 1,
        area: 2,
        bbox: [0, 0, 1, 2],
        segmentation: { size: [H, W], counts: [0, 2, 28] },
      },
    ],
  });

  it('keeps ids, makes file_name relative to the output, converts masks to RLE on request', async () => {
    const root = join(dir, 'coco');
    await jpeg(join(root, 'val2017', 'a.jpg'));
    await jpeg(join(root, 'val2017', 'b.jpg'));
    await text(join(root, 'annotations', 'instances_val2017.json'), [JSON.stringify(gt())]);
    const out = join(dir, 'coco-out', 'val.json');
    const { dataset: ds } = await convertCoco({
      annotations: join(root, 'annotations', 'instances_val2017.json'),
      images: join(root, 'val2017'),
      out,
      rle: true,
      checkSizes: true,
    });
    assert.deepEqual(
      ds.images.map((im) => im.file_name),
      ['../coco/val2017/a.jpg', '../coco/val2017/b.jpg'],
    );
    assert.deepEqual(ds.categories, gt().categories);
    assert.deepEqual(
      ds.annotations.map((a) => [a.id, a.category_id, a.iscrowd, a.area]),
      [
        [5, 18, 0, 4],
        [6, 18, 1, 2],
      ],
    );
    for (const [i, a] of ds.annotations.entries()) {
      assert.equal(typeof (a.segmentation as { counts: unknown }).counts, 'string');
      assert.deepEqual(a.segmentation, rleToCoco(annToRle(gt().annotations[i].segmentation, H, W)));
    }
  });

  it('fails on missing images (or skips them with skipMissing) and on wrong sizes', async () => {
    const root = join(dir, 'coco2');
    await jpeg(join(root, 'imgs', 'a.jpg'), W, H + 2);
    const ann = join(root, 'inst.json');
    await text(ann, [JSON.stringify(gt())]);
    const out = join(root, 'out.json');
    await assert.rejects(
      convertCoco({ annotations: ann, images: join(root, 'imgs'), out }),
      /inst\.json: image id 2 \(images\[1\]\), field "file_name": image file .*imgs\/b\.jpg does not exist/,
    );
    const res = await convertCoco({ annotations: ann, images: join(root, 'imgs'), out, skipMissing: true });
    assert.deepEqual(
      res.dataset.images.map((im) => im.id),
      [1],
    );
    assert.deepEqual(
      res.dataset.annotations.map((a) => a.id),
      [5],
    );
    assert.equal(res.missing.length, 1);
    await assert.rejects(
      convertCoco({ annotations: ann, images: join(root, 'imgs'), out, skipMissing: true, checkSizes: true }),
      /image id 1 \(images\[0\]\), field "width": JSON says 6x5 but .*a\.jpg is 6x7/,
    );
  });
});
