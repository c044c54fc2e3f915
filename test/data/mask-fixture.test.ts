// Every entry of the pycocotools.mask reference fixture, compared exactly.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  annToRle,
  area,
  countsFromString,
  countsToString,
  decode,
  encode,
  frPyObjects,
  iou,
  merge,
  rleFromBox,
  rleFromPolygon,
  rleToCoco,
  toBbox,
  type BinaryMask,
  type Box,
  type CocoRle,
} from '../../src/data/mask/index.ts';
import { fixturePath } from './mask-fixture-path.ts';

type Rows = string[];
const fx = JSON.parse(readFileSync(fixturePath('coco', 'mask_fixture.json'), 'utf8'));
const gt = JSON.parse(readFileSync(fixturePath('coco', 'gt.json'), 'utf8'));

function fromRows(rows: Rows, h: number, w: number): BinaryMask {
  const data = new Uint8Array(h * w);
  rows.forEach((r, y) => {
    for (let x = 0; x < w; x++) data[y * w + x] = r[x] === '1' ? 1 : 0;
  });
  return { height: h, width: w, data };
}

function toRows(m: BinaryMask): Rows {
  const rows: Rows = [];
  for (let y = 0; y < m.height; y++) {
    let s = '';
    for (let x = 0; x < m.width; x++) s += m.data[y * m.width + x] ? '1' : '0';
    rows.push(s);
  }
  return rows;
}

test('encode: counts string, runs, area and bbox for every mask', () => {
  assert.ok(fx.encode.length > 0);
  for (const [i, e] of fx.encode.entries()) {
    const rle = encode(fromRows(e.rows, e.h, e.w));
    assert.deepEqual(rle, { size: [e.h, e.w], counts: e.counts }, `encode[${i}]`);
    assert.deepEqual(Array.from(countsFromString(rle.counts)), e.ucounts, `encode[${i}] runs`);
    assert.equal(area(rle), e.area, `encode[${i}] area`);
    assert.deepEqual(toBbox(rle), e.bbox, `encode[${i}] bbox`);
  }
});

test('decode: every RLE expands to the reference rows', () => {
  for (const [i, e] of fx.decode.entries()) {
    const m = decode({ size: e.size, counts: e.counts });
    assert.deepEqual(toRows(m), e.rows, `decode[${i}]`);
  }
});

test('rle_props: runs, area and bbox of every RLE in the case', () => {
  for (const [i, e] of fx.rle_props.entries()) {
    const rle: CocoRle = { size: e.size, counts: e.counts };
    assert.deepEqual(Array.from(countsFromString(e.counts)), e.ucounts, `rle_props[${i}] runs`);
    assert.equal(area(rle), e.area, `rle_props[${i}] area`);
    assert.deepEqual(toBbox(rle), e.bbox, `rle_props[${i}] bbox`);
  }
});

test('ann_to_rle: every ground-truth annotation becomes the reference RLE', () => {
  const anns = new Map(gt.annotations.map((a: { id: number }) => [a.id, a]));
  const imgs = new Map(gt.images.map((im: { id: number }) => [im.id, im]));
  assert.equal(fx.ann_to_rle.length, gt.annotations.length);
  for (const e of fx.ann_to_rle) {
    const ann = anns.get(e.ann_id) as { image_id: number; segmentation: unknown; area: number };
    const img = imgs.get(ann.image_id) as { height: number; width: number };
    const rle = rleToCoco(annToRle(ann.segmentation, img.height, img.width));
    assert.deepEqual(rle, { size: e.size, counts: e.counts }, `ann ${e.ann_id} (${e.kind})`);
    assert.equal(area(rle), e.area, `ann ${e.ann_id} area`);
    assert.deepEqual(toBbox(rle), e.bbox, `ann ${e.ann_id} bbox`);
    assert.equal(ann.area, e.json_area, `ann ${e.ann_id} json area`);
  }
});

test('fr_uncompressed: uncompressed RLE compresses to the reference string', () => {
  for (const [i, e] of fx.fr_uncompressed.entries()) {
    assert.deepEqual(
      frPyObjects({ size: e.size, counts: e.ucounts }, e.size[0], e.size[1]),
      {
        size: e.size,
        counts: e.counts,
      },
      `fr_uncompressed[${i}]`,
    );
  }
});

test('fr_poly: every polygon part and their union, area and bbox', () => {
  for (const [i, e] of fx.fr_poly.entries()) {
    const parts = frPyObjects(e.polygons, e.h, e.w) as CocoRle[];
    assert.deepEqual(
      parts.map((p) => p.counts),
      e.parts,
      `fr_poly[${i}] parts`,
    );
    for (const [j, p] of e.polygons.entries()) {
      assert.equal(countsToString(rleFromPolygon(p, e.h, e.w).counts), e.parts[j], `fr_poly[${i}][${j}]`);
    }
    const merged = merge(parts);
    assert.deepEqual(merged, { size: [e.h, e.w], counts: e.merged }, `fr_poly[${i}] merged`);
    assert.equal(area(merged), e.area, `fr_poly[${i}] area`);
    assert.deepEqual(toBbox(merged), e.bbox, `fr_poly[${i}] bbox`);
  }
});

test('fr_bbox: boxes rasterise to the reference RLE', () => {
  for (const [i, e] of fx.fr_bbox.entries()) {
    assert.equal(countsToString(rleFromBox(e.bbox, e.h, e.w).counts), e.counts, `fr_bbox[${i}]`);
    const viaDispatch = frPyObjects([e.bbox], e.h, e.w) as CocoRle[];
    assert.equal(viaDispatch[0].counts, e.counts, `fr_bbox[${i}] via frPyObjects`);
  }
});

test('string_codec: runs <-> string both ways', () => {
  for (const [i, e] of fx.string_codec.entries()) {
    assert.equal(countsToString(e.ucounts), e.counts, `string_codec[${i}] encode`);
    assert.deepEqual(Array.from(countsFromString(e.counts)), e.ucounts, `string_codec[${i}] decode`);
  }
});

test('iou: mask IoU matrices with iscrowd', () => {
  for (const [i, e] of fx.iou.entries()) {
    const got = iou(e.dt, e.gt, e.iscrowd);
    assert.deepEqual(got, e.iou, `iou[${i}] (image ${e.image_id}, category ${e.category_id})`);
  }
});

test('bbox_iou: box IoU matrices with iscrowd', () => {
  for (const [i, e] of fx.bbox_iou.entries()) {
    assert.deepEqual(iou(e.dt as Box[], e.gt as Box[], e.iscrowd), e.iou, `bbox_iou[${i}]`);
  }
});

test('merge: union and intersection', () => {
  for (const [i, e] of fx.merge.entries()) {
    assert.deepEqual(merge(e.rles, e.intersect === 1), { size: e.size, counts: e.counts }, `merge[${i}]`);
  }
});
