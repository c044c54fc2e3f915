import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { IssueList, loadCocoJson, type CocoDataset } from '../../src/data/coco/index.ts';
import { annToRle, encode, rleDecode, rleToBbox, rleToCoco } from '../../src/data/mask/index.ts';
import { loadWeakDataset, validateWeak, type WeakDataset } from '../../src/data/weak/index.ts';
import { pointInMask, squaredDistanceToBackground } from '../../src/data/weak/points.ts';
import { seededStreams } from '../../src/data/weak/rng.ts';
import { weaken, type WeakenOptions } from '../../src/data/weak/weaken.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Row-major bitmap from rows of '0'/'1'. */
function bitmap(rows: string[]) {
  const h = rows.length;
  const w = rows[0].length;
  const data = new Uint8Array(h * w);
  rows.forEach((r, y) => [...r].forEach((c, x) => (data[y * w + x] = c === '1' ? 1 : 0)));
  return { height: h, width: w, data };
}

// 10 images of 6x8; image k has instances of class 1 + (k % 3); image 9 has only a crowd region;
// image 8 has no annotation. Masks are rectangles, so tight boxes are known.
function dataset(): CocoDataset {
  const images = Array.from({ length: 10 }, (_, k) => ({
    id: 100 + k,
    file_name: `${k}.png`,
    width: 8,
    height: 6,
  }));
  const annotations: CocoDataset['annotations'] = [];
  let id = 1;
  for (let k = 0; k < 8; k++) {
    for (let j = 0; j < 1 + (k % 2); j++) {
      const x0 = j * 4;
      const rows = Array.from({ length: 6 }, (_, y) =>
        Array.from({ length: 8 }, (_, x) =>
          x >= x0 && x < x0 + 3 && y >= 1 && y < 1 + 2 + j ? '1' : '0',
        ).join(''),
      );
      annotations.push({
        id: id++,
        image_id: 100 + k,
        category_id: 1 + ((k + j) % 3),
        iscrowd: 0,
        segmentation: encode(bitmap(rows)),
        bbox: [x0, 1, 3, 2 + j],
        area: 3 * (2 + j),
      });
    }
  }
  // a polygon instance in image 0, and a crowd region there of class 3
  annotations.push({
    id: id++,
    image_id: 100,
    category_id: 2,
    iscrowd: 0,
    segmentation: [[4, 0, 8, 0, 8, 1, 4, 1]],
    bbox: [4, 0, 4, 1],
    area: 4,
  });
  annotations.push({
    id: id++,
    image_id: 100,
    category_id: 3,
    iscrowd: 1,
    segmentation: { size: [6, 8], counts: [47, 1] },
    bbox: [7, 5, 1, 1],
    area: 1,
  });
  annotations.push({
    id: id++,
    image_id: 109,
    category_id: 1,
    iscrowd: 1,
    segmentation: { size: [6, 8], counts: [0, 2, 46] },
    bbox: [0, 0, 1, 2],
    area: 2,
  });
  return {
    info: { description: 'tiny' },
    images,
    annotations,
    categories: [1, 2, 3].map((c) => ({ id: c, name: `c${c}` })),
  };
}

const opts = (o: Partial<WeakenOptions> = {}): WeakenOptions => ({
  counts: { tag: 3, point: 2, box: 2 },
  seed: 7,
  unchosen: 'keep',
  pointStrategy: 'uniform',
  boxSource: 'mask',
  ...o,
});

function kinds(ds: WeakDataset): Record<string, number> {
  const n: Record<string, number> = {};
  for (const im of ds.images) n[im.label_type] = (n[im.label_type] ?? 0) + 1;
  return n;
}

describe('weaken', () => {
  it('assigns the requested counts, keeps unchosen images as none, and produces a valid dataset', () => {
    const coco = dataset();
    const { dataset: ds, imagesWithoutInstances } = weaken(coco, opts());
    assert.deepEqual(kinds(ds), { tag: 3, point: 2, box: 2, none: 3 });
    assert.equal(imagesWithoutInstances, 2);
    for (const id of [108, 109]) assert.equal(ds.images.find((im) => im.id === id)!.label_type, 'none');
    const issues = new IssueList('weak');
    validateWeak(ds, issues);
    assert.deepEqual(issues.items, []);
  });

  it('derives tags, points inside masks and tight boxes from the full annotation', () => {
    const coco = dataset();
    for (let seed = 0; seed < 20; seed++) {
      const { dataset: ds } = weaken(coco, opts({ seed, counts: { tag: 2, point: 3, box: 3 } }));
      for (const im of ds.images) {
        const src = coco.annotations.filter((a) => a.image_id === im.id);
        const anns = ds.annotations.filter((a) => a.image_id === im.id);
        if (im.label_type === 'tag')
          assert.deepEqual(im.tags, [...new Set(src.map((a) => a.category_id))].sort());
        if (im.label_type === 'point' || im.label_type === 'box') {
          // one label per non-crowd instance, same ids and classes
          const inst = src.filter((a) => !a.iscrowd);
          assert.deepEqual(
            anns.map((a) => [a.id, a.category_id]),
            inst.map((a) => [a.id, a.category_id]),
          );
          for (const a of anns) {
            const s = inst.find((b) => b.id === a.id)!;
            const m = rleDecode(annToRle(s.segmentation, im.height, im.width));
            if (im.label_type === 'point') {
              const [x, y] = a.point!;
              assert.equal(x % 1, 0.5);
              assert.equal(
                m.data[Math.floor(y) * m.width + Math.floor(x)],
                1,
                `point ${x},${y} outside mask ${s.id}`,
              );
            } else assert.deepEqual(a.bbox, s.bbox); // rectangles: the tight box equals the given box
          }
        }
      }
    }
  });

  it('on the pycocotools fixture (polygons, both RLE forms, crowds): points inside masks, boxes = toBbox', async () => {
    const coco = await loadCocoJson(resolve(repoRoot, '..', 'shared', 'fixtures', 'coco', 'gt.json'));
    const eligible = coco.images.filter((im) =>
      coco.annotations.some((a) => a.image_id === im.id && !a.iscrowd),
    ).length;
    for (const [kind, strategy] of [
      ['point', 'uniform'],
      ['point', 'center'],
      ['box', 'uniform'],
    ] as const) {
      const counts = { tag: 0, point: kind === 'point' ? eligible : 0, box: kind === 'box' ? eligible : 0 };
      const { dataset: ds } = weaken(coco, opts({ counts, pointStrategy: strategy }));
      const nonCrowd = coco.annotations.filter(
        (a) => !a.iscrowd && ds.images.some((im) => im.id === a.image_id && im.label_type === kind),
      );
      assert.equal(ds.annotations.length, nonCrowd.length);
      for (const a of ds.annotations) {
        const src = coco.annotations.find((b) => b.id === a.id)!;
        const im = coco.images.find((i) => i.id === a.image_id)!;
        const rle = annToRle(src.segmentation, im.height, im.width);
        if (kind === 'box') assert.deepEqual(a.bbox, rleToBbox(rle));
        else {
          const m = rleDecode(rle);
          assert.equal(m.data[Math.floor(a.point![1]) * m.width + Math.floor(a.point![0])], 1);
        }
      }
    }
  });

  it('is deterministic for a seed and depends on it', () => {
    const a = weaken(dataset(), opts({ seed: 1 })).dataset;
    assert.deepEqual(weaken(dataset(), opts({ seed: 1 })).dataset, a);
    const differs = [2, 3, 4, 5].some(
      (s) => JSON.stringify(weaken(dataset(), opts({ seed: s })).dataset) !== JSON.stringify(a),
    );
    assert.ok(differs);
  });

  it('drops unchosen images with --unchosen drop, keeps crowd regions on mask images', () => {
    const { dataset: ds, summary } = weaken(
      dataset(),
      opts({ unchosen: 'drop', counts: { tag: 0, point: 0, box: 0, mask: 8 } }),
    );
    assert.deepEqual(kinds(ds), { mask: 8 });
    const img0 = ds.annotations.filter((a) => a.image_id === 100);
    assert.equal(img0.length, 3);
    assert.ok(img0.some((a) => a.iscrowd === 1));
    assert.equal(summary.find((r) => r.kind === 'mask')!.labels, dataset().annotations.length - 1);
  });

  it('counts crowd regions it skips on point and box images', () => {
    const res = weaken(dataset(), opts({ counts: { tag: 0, point: 8, box: 0 } }));
    const row = res.summary.find((r) => r.kind === 'point')!;
    assert.equal(row.skippedCrowd, 1); // image 0's crowd region
    assert.equal(row.labels, res.dataset.annotations.length);
  });

  it('refuses more labeled images than there are images with instances', () => {
    assert.throws(
      () => weaken(dataset(), opts({ source: 'gt.json', counts: { tag: 5, point: 2, box: 2 } })),
      /gt\.json: asked for 9 labeled images .* only 8 of 10 images have a non-crowd instance/,
    );
  });
});

describe('points inside masks', () => {
  it('center: the pixel farthest from the background, nearest the centroid on ties', () => {
    const rng = seededStreams(0, 1)[0];
    const square = rleToRleIn(['0000000', '0111110', '0111110', '0111110', '0111110', '0111110', '0000000']);
    assert.deepEqual(pointInMask(square, 'center', rng), [3.5, 3.5]);
    // a 2-wide bar: every pixel is at distance 1; the one nearest the centroid (2, 1.5) wins, first in row order
    const bar = rleToRleIn(['000000', '011110', '011110', '000000']);
    assert.deepEqual(pointInMask(bar, 'center', rng), [2.5, 1.5]);
    assert.equal(pointInMask(rleToRleIn(['000', '000']), 'uniform', rng), null);
  });

  it('uniform: always inside the mask, and reaches every pixel', () => {
    const m = rleToRleIn(['0100', '0001', '1000']);
    const rng = seededStreams(5, 1)[0];
    const hits = new Set<string>();
    for (let i = 0; i < 200; i++) hits.add(String(pointInMask(m, 'uniform', rng)));
    assert.deepEqual([...hits].sort(), ['0.5,2.5', '1.5,0.5', '3.5,1.5']);
  });

  it('distance transform equals brute force on random masks; both strategies stay inside', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.boolean(), { minLength: 81, maxLength: 81 }),
        (h, w, bits) => {
          const data = Uint8Array.from(bits.slice(0, h * w), (b) => (b ? 1 : 0));
          const d2 = squaredDistanceToBackground(data, h, w);
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++) {
              let best = Math.min((x + 1) ** 2, (w - x) ** 2, (y + 1) ** 2, (h - y) ** 2);
              if (!data[y * w + x]) best = 0;
              for (let yy = 0; yy < h; yy++)
                for (let xx = 0; xx < w; xx++)
                  if (!data[yy * w + xx]) best = Math.min(best, (x - xx) ** 2 + (y - yy) ** 2);
              assert.equal(d2[y * w + x], best);
            }
          const rle = encode({ height: h, width: w, data });
          const r = annToRle(rle, h, w);
          for (const s of ['uniform', 'center'] as const) {
            const p = pointInMask(r, s, seededStreams(1, 1)[0]);
            if (data.every((v) => v === 0)) assert.equal(p, null);
            else assert.equal(data[Math.floor(p![1]) * w + Math.floor(p![0])], 1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

function rleToRleIn(rows: string[]) {
  const b = bitmap(rows);
  return annToRle(rleToCoco(annToRle(encode(b), b.height, b.width)), b.height, b.width);
}

describe('wish weaken (CLI)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wish-weaken-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('weakens under a budget and mix, prints a summary and writes a loadable dataset', async () => {
    const gt = join(dir, 'gt.json');
    await writeFile(gt, JSON.stringify(dataset()));
    const out = join(dir, 'sub', 'weak.json');
    const stdout = execFileSync(
      process.execPath,
      [
        'bin/wish.js',
        'weaken',
        '--in',
        gt,
        '--out',
        out,
        '--budget',
        '25',
        '--costs',
        '1,6,12',
        '--mix',
        'tag=0.2,point=0.48,box=0.32',
        '--seed',
        '3',
        '--unchosen',
        'drop',
        '--json',
      ],
      { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // floor(5/1) = 5 tags, floor(12/6) = 2 points, floor(8/12) = 0 boxes
    assert.match(stdout, /tag\s+\d/);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(summary.counts, { tag: 5, point: 2, box: 0, mask: 0 });
    const ds = await loadWeakDataset(out);
    assert.deepEqual(kinds(ds), { tag: 5, point: 2 });
    // file_name is relative to the JSON's folder: rebased from gt.json's folder to sub/
    for (const im of ds.images) assert.match(im.file_name, /^\.\.\/\d\.png$/);
  });

  it('refuses --counts that cost more than --budget (Eq. 21)', async () => {
    const gt = join(dir, 'gt2.json');
    await writeFile(gt, JSON.stringify(dataset()));
    assert.throws(
      () =>
        execFileSync(
          process.execPath,
          [
            'bin/wish.js',
            'weaken',
            '--in',
            gt,
            '--out',
            join(dir, 'w2.json'),
            '--counts',
            '2,1,1',
            '--budget',
            '19',
          ],
          {
            cwd: repoRoot,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        ),
      (e: { stderr: string }) =>
        /--counts 2,1,1 cost 20 at 1,6,12, more than --budget 19 \(Eq\. 21\)/.test(e.stderr),
    );
  });
});
