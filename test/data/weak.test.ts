import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DataFormatError } from '../../src/data/coco/index.ts';
import { loadWeakDataset, writeWeakDataset, type WeakDataset } from '../../src/data/weak/index.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wish-weak-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const valid = (): WeakDataset => ({
  categories: [
    { id: 1, name: 'cat' },
    { id: 2, name: 'dog' },
  ],
  images: [
    { id: 1, file_name: 't.jpg', width: 10, height: 8, label_type: 'tag', tags: [1, 2] },
    { id: 2, file_name: 'p.jpg', width: 10, height: 8, label_type: 'point' },
    { id: 3, file_name: 'b.jpg', width: 10, height: 8, label_type: 'box' },
    { id: 4, file_name: 'm.jpg', width: 4, height: 3, label_type: 'mask' },
    { id: 5, file_name: 'n.jpg', width: 10, height: 8, label_type: 'none' },
    { id: 6, file_name: 'e.jpg', width: 10, height: 8, label_type: 'tag', tags: [] },
  ],
  annotations: [
    { id: 1, image_id: 2, category_id: 1, point: [0, 7.99] },
    { id: 2, image_id: 3, category_id: 2, bbox: [0, 0, 10, 8] },
    {
      id: 3,
      image_id: 4,
      category_id: 2,
      segmentation: { size: [3, 4], counts: [1, 2, 9] },
      bbox: [0, 0, 1, 2],
    },
  ],
});

async function problems(ds: unknown, name: string): Promise<string> {
  const f = join(dir, name);
  await writeFile(f, JSON.stringify(ds));
  let msg = '';
  for (const streamAboveBytes of [Infinity, 0]) {
    await assert.rejects(loadWeakDataset(f, { streamAboveBytes }), (e: Error) => {
      assert.ok(e instanceof DataFormatError);
      assert.ok(e.message.includes(f));
      if (msg) assert.equal(e.message, msg);
      msg = e.message;
      return true;
    });
  }
  return msg;
}

describe('weak-label dataset', () => {
  it('loads a valid dataset with all five label types, and round-trips through the writer', async () => {
    const f = join(dir, 'ok.json');
    await writeWeakDataset(f, valid());
    const ds = await loadWeakDataset(f);
    assert.deepEqual(ds, valid());
    assert.deepEqual(JSON.parse(await readFile(f, 'utf8')), valid());
  });

  it('reports every misplaced or malformed label with image/annotation id and field', async () => {
    const d = valid();
    d.images[1].tags = [1]; // tags on a point image
    d.images.push({ id: 7, file_name: 'x.jpg', width: 10, height: 8, label_type: 'tag', tags: [3, 1, 1] });
    d.images.push({ id: 8, file_name: 'y.jpg', width: 10, height: 8, label_type: 'tag' });
    d.annotations.push(
      { id: 10, image_id: 2, category_id: 1, point: [10, 2] }, // x == width: outside
      { id: 11, image_id: 2, category_id: 1, point: [-0.5, 2] },
      { id: 12, image_id: 3, category_id: 1, bbox: [1, 1, 0, 3] }, // non-positive width
      { id: 13, image_id: 3, category_id: 1, bbox: [5, 5, 6, 2] }, // reaches x = 11 > 10
      { id: 14, image_id: 3, category_id: 1, point: [1, 1] }, // point on a box image, and no bbox
      { id: 15, image_id: 1, category_id: 1, point: [1, 1] }, // annotation on a tag image
      { id: 16, image_id: 5, category_id: 1, bbox: [1, 1, 1, 1] }, // annotation on an unlabeled image
      { id: 17, image_id: 2, category_id: 9, point: [1, 1] }, // unknown class
      { id: 18, image_id: 4, category_id: 1 }, // mask image without segmentation
      { id: 19, image_id: 2, category_id: 1, point: [1, 1], bbox: [0, 0, 2, 2] }, // box on a point image
    );
    const msg = await problems(d, 'bad.json');
    const expect = [
      /image id 2 \(images\[1\]\), field "tags": "tags" on a point image/,
      /image id 7 \(images\[6\]\), field "tags.0": unknown class id 3/,
      /image id 7 \(images\[6\]\), field "tags.2": class id 1 is listed twice/,
      /image id 8 \(images\[7\]\), field "tags": a tag image needs "tags"/,
      /annotation id 10 \(annotations\[3\]\) of image id 2, field "point": point \[10, 2\] is outside the 10x8 image/,
      /annotation id 11 .*field "point": point \[-0.5, 2\] is outside/,
      /annotation id 12 .*field "bbox": box \[1, 1, 0, 3\] has non-positive width or height/,
      /annotation id 13 .*field "bbox": box \[5, 5, 6, 2\] reaches outside the 10x8 image/,
      /annotation id 14 .*field "point": a point on a box image/,
      /annotation id 14 .*field "bbox": a box image's annotation needs "bbox"/,
      /annotation id 15 .* of image id 1: a tag image has no annotations/,
      /annotation id 16 .* of image id 5: a none image has no annotations \(it is unlabeled\)/,
      /annotation id 17 .*field "category_id": category id 9 is not in "categories"/,
      /annotation id 18 .*field "segmentation": a mask image's annotation needs "segmentation"/,
      /annotation id 19 .*field "bbox": a box on a point image/,
    ];
    for (const re of expect) assert.match(msg, re);
    assert.match(msg, new RegExp(`^${expect.length} problem\\(s\\):`));
  });

  it('rejects unknown label types and bad field shapes at the schema level', async () => {
    const d = valid() as unknown as {
      images: Record<string, unknown>[];
      annotations: Record<string, unknown>[];
    };
    d.images[0].label_type = 'scribble';
    d.annotations[0].point = [1];
    const msg = await problems(d, 'schema.json');
    assert.match(msg, /image id 1 \(images\[0\]\), field "label_type"/);
    assert.match(msg, /annotation id 1 \(annotations\[0\]\), field "point"/);
  });

  it('refuses to write an invalid dataset', async () => {
    const d = valid();
    d.annotations[0].point = [100, 100];
    await assert.rejects(
      writeWeakDataset(join(dir, 'never.json'), d),
      /never\.json \(before writing\): annotation id 1/,
    );
    await assert.rejects(readFile(join(dir, 'never.json')), /ENOENT/);
  });
});

describe('weak-label dataset fuzz', () => {
  it('random field edits give a dataset or a DataFormatError, never a crash', async () => {
    const fields = [
      'label_type',
      'tags',
      'point',
      'bbox',
      'segmentation',
      'image_id',
      'category_id',
      'width',
      'id',
    ];
    const value = fc.oneof(
      fc.constantFrom('tag', 'point', 'box', 'mask', 'none', 'other'),
      fc.array(fc.integer({ min: -2, max: 12 }), { maxLength: 5 }),
      fc.tuple(fc.double({ min: -20, max: 20, noNaN: true }), fc.double({ min: -20, max: 20, noNaN: true })),
      fc.jsonValue({ maxDepth: 1 }),
    );
    const editArb = fc.record({
      list: fc.constantFrom('images', 'annotations'),
      index: fc.nat(),
      field: fc.constantFrom(...fields),
      value,
      del: fc.boolean(),
    });
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(editArb, { minLength: 1, maxLength: 3 }), async (edits) => {
        const d = valid() as unknown as Record<string, Record<string, unknown>[]>;
        for (const e of edits) {
          const rec = d[e.list][e.index % d[e.list].length];
          if (e.del) delete rec[e.field];
          else rec[e.field] = e.value;
        }
        const f = join(dir, `fuzz-${n++}.json`);
        await writeFile(f, JSON.stringify(d));
        try {
          await loadWeakDataset(f);
        } catch (e) {
          assert.ok(e instanceof DataFormatError, `not a DataFormatError: ${String(e)}`);
          assert.ok(e.message.startsWith(f) || e.message.includes(`\n${f}:`));
        }
      }),
      { numRuns: 200 },
    );
  });
});
