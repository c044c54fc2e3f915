// The synthetic shapes dataset: determinism, masks equal to what was painted, class balance,
// colour/texture carrying no class information, and the on-disk COCO output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadCocoJson } from '../../src/data/coco/index.ts';
import { loadImage } from '../../src/data/image/io.ts';
import { decode, toBbox, area as rleArea, type CocoRle } from '../../src/data/mask/index.ts';
import { generateScene, resolveOptions } from '../../src/data/synth/scene.ts';
import { DEFAULT_CLASSES, parseClasses, rasterizeShape, SHAPE_CLASSES } from '../../src/data/synth/shapes.ts';
import { paintTexture, TEXTURE_KINDS } from '../../src/data/synth/textures.ts';
import { writeSynthDataset } from '../../src/data/synth/write.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const work = await mkdtemp(join(tmpdir(), 'wish-synth-test-'));
after(() => rm(work, { recursive: true, force: true }));

describe('generateScene', () => {
  test('is a pure function of (seed, index, options)', () => {
    const a = generateScene(7, 3);
    const b = generateScene(7, 3);
    assert.deepEqual(a, b);
    const c = generateScene(7, 4);
    const d = generateScene(8, 3);
    assert.notDeepEqual(Buffer.from(a.image), Buffer.from(c.image));
    assert.notDeepEqual(Buffer.from(a.image), Buffer.from(d.image));
  });

  test('masks are non-empty, disjoint, at least the minimum visible area, and area = pixel count', () => {
    const o = resolveOptions({ classes: SHAPE_CLASSES });
    for (let i = 0; i < 40; i++) {
      const s = generateScene(1, i, o);
      assert.ok(s.instances.length >= 1, `scene ${i} has no instance`);
      const cover = new Uint8Array(s.width * s.height);
      for (const inst of s.instances) {
        let n = 0;
        for (let p = 0; p < inst.mask.length; p++) {
          if (inst.mask[p]) {
            n++;
            cover[p]++;
          }
        }
        assert.equal(inst.area, n);
        assert.ok(n >= o.minVisibleArea, `scene ${i}: instance with ${n} visible pixels`);
        assert.ok(n >= o.minVisibleFraction * countShape(inst.shape, s.width) - 1e-9);
      }
      assert.ok(
        cover.every((c) => c <= 1),
        `scene ${i}: masks overlap`,
      );
    }
  });

  test('each mask is its shape minus the shapes painted over it, and the image shows its texture there', () => {
    for (let i = 0; i < 30; i++) {
      const s = generateScene(2, i, { classes: SHAPE_CLASSES });
      const S = s.width;
      const owner = new Int16Array(S * S).fill(-1);
      const scratch = new Int32Array(S * S);
      s.instances.forEach((inst, j) => {
        const n = rasterizeShape(inst.shape, S, S, scratch);
        for (let k = 0; k < n; k++) owner[scratch[k]] = j;
      });
      s.instances.forEach((inst, j) => {
        for (let p = 0; p < S * S; p++)
          assert.equal(inst.mask[p], owner[p] === j ? 1 : 0, `scene ${i} instance ${j} pixel ${p}`);
        const n = rasterizeShape(inst.shape, S, S, scratch);
        const painted = new Uint8Array(S * S * 3);
        paintTexture(inst.texture, painted, S, scratch, n);
        for (let p = 0; p < S * S; p++) {
          if (!inst.mask[p]) continue;
          const want = [painted[p * 3], painted[p * 3 + 1], painted[p * 3 + 2]];
          assert.deepEqual([s.image[p * 3], s.image[p * 3 + 1], s.image[p * 3 + 2]], want);
        }
      });
    }
  });

  test('every class occurs, classes repeat within images, instances touch and occlude', () => {
    const K = DEFAULT_CLASSES.length;
    const perClass = new Array(K).fill(0);
    let repeated = 0;
    let touching = 0;
    let occluded = 0;
    const N = 60;
    const scratch = new Int32Array(128 * 128);
    for (let i = 0; i < N; i++) {
      const s = generateScene(3, i);
      const seen = new Array(K).fill(0);
      for (const inst of s.instances) seen[inst.classId]++;
      seen.forEach((c, k) => (perClass[k] += c));
      if (seen.some((c) => c >= 2)) repeated++;
      if (
        anyTouch(
          s.instances.map((x) => x.mask),
          s.width,
        )
      )
        touching++;
      if (s.instances.some((x) => x.area < rasterizeShape(x.shape, s.width, s.height, scratch))) occluded++;
    }
    for (let k = 0; k < K; k++)
      assert.ok(perClass[k] > 0.1 * (perClass.reduce((a, b) => a + b) / K), `class ${k} rare`);
    assert.ok(repeated > N / 2, `only ${repeated}/${N} images repeat a class`);
    assert.ok(touching > N / 3, `only ${touching}/${N} images have touching instances`);
    assert.ok(occluded > N / 3, `only ${occluded}/${N} images have occlusion`);
  });

  test('colour and texture do not give the class away', () => {
    const classes = SHAPE_CLASSES;
    const K = classes.length;
    // Per instance: mean RGB of its visible pixels.
    const feats: { cls: number; rgb: number[] }[] = [];
    const kinds = classes.map(() => new Map<string, number>());
    for (let i = 0; feats.length < 1500; i++) {
      const s = generateScene(4, i, { classes });
      for (const inst of s.instances) {
        const sum = [0, 0, 0];
        for (let p = 0; p < inst.mask.length; p++) {
          if (!inst.mask[p]) continue;
          for (let c = 0; c < 3; c++) sum[c] += s.image[p * 3 + c];
        }
        feats.push({ cls: inst.classId, rgb: sum.map((v) => v / inst.area) });
        const m = kinds[inst.classId];
        m.set(inst.texture.kind, (m.get(inst.texture.kind) ?? 0) + 1);
      }
    }
    const means = classes.map((_, k) => {
      const f = feats.filter((x) => x.cls === k);
      return [0, 1, 2].map((c) => f.reduce((a, x) => a + x.rgb[c], 0) / f.length);
    });
    for (let c = 0; c < 3; c++) {
      const vals = means.map((m) => m[c]);
      assert.ok(
        Math.max(...vals) - Math.min(...vals) < 20,
        `channel ${c} class means ${vals.map((v) => v.toFixed(1))}`,
      );
    }
    // Texture kinds are drawn uniformly for every class.
    for (let k = 0; k < K; k++) {
      const total = [...kinds[k].values()].reduce((a, b) => a + b, 0);
      for (const kind of TEXTURE_KINDS) {
        const frac = (kinds[k].get(kind) ?? 0) / total;
        assert.ok(
          Math.abs(frac - 1 / TEXTURE_KINDS.length) < 0.1,
          `${classes[k]}: ${kind} ${frac.toFixed(2)}`,
        );
      }
    }
    // A nearest-class-mean classifier on colour, fitted on half, scores near chance on the other half.
    const train = feats.filter((_, i) => i % 2 === 0);
    const testSet = feats.filter((_, i) => i % 2 === 1);
    const centroids = classes.map((_, k) => {
      const f = train.filter((x) => x.cls === k);
      return [0, 1, 2].map((c) => f.reduce((a, x) => a + x.rgb[c], 0) / f.length);
    });
    let right = 0;
    for (const x of testSet) {
      let best = 0;
      let bestD = Infinity;
      centroids.forEach((m, k) => {
        const d = (m[0] - x.rgb[0]) ** 2 + (m[1] - x.rgb[1]) ** 2 + (m[2] - x.rgb[2]) ** 2;
        if (d < bestD) [best, bestD] = [k, d];
      });
      if (best === x.cls) right++;
    }
    const acc = right / testSet.length;
    assert.ok(
      acc < 1 / K + 0.08,
      `colour predicts class with accuracy ${acc.toFixed(3)} (chance ${(1 / K).toFixed(3)})`,
    );
  });

  test('bad options are refused with a clear message', () => {
    assert.throws(() => generateScene(0, 0, { size: 8 }), /size must be an integer in \[16, 4096\], got 8/);
    assert.throws(() => generateScene(0, 0, { classes: [] }), /at least one class/);
    assert.throws(
      () => generateScene(0, 0, { minInstances: 5, maxInstances: 2 }),
      /minInstances <= maxInstances/,
    );
    assert.throws(() => parseClasses('disc,hexagon'), /unknown shape class "hexagon"; known: disc, square/);
    assert.throws(() => parseClasses('disc,disc'), /listed twice/);
    assert.deepEqual(parseClasses(' star , cross'), ['star', 'cross']);
  });
});

describe('writeSynthDataset / wish synth', () => {
  test('writes a valid COCO file whose images and masks equal the in-memory scenes', async () => {
    const dir = join(work, 'a');
    const res = await writeSynthDataset(dir, { images: 12, seed: 5, size: 64 });
    const ds = await loadCocoJson(join(dir, 'annotations.json'));
    assert.equal(ds.images.length, 12);
    assert.equal(ds.annotations.length, res.annotations);
    assert.deepEqual(
      ds.categories.map((c) => [c.id, c.name]),
      DEFAULT_CLASSES.map((n, i) => [i + 1, n]),
    );
    const annIds = new Set(ds.annotations.map((a) => a.id));
    assert.equal(annIds.size, ds.annotations.length);
    for (const img of ds.images) {
      const scene = generateScene(5, img.id - 1, { size: 64 });
      const png = await loadImage(join(dir, img.file_name));
      assert.equal(png.width, 64);
      assert.deepEqual(Buffer.from(png.data), Buffer.from(scene.image));
      const anns = ds.annotations.filter((a) => a.image_id === img.id);
      assert.equal(anns.length, scene.instances.length);
      anns.forEach((a, j) => {
        const rle = a.segmentation as CocoRle;
        assert.equal(typeof rle.counts, 'string');
        assert.deepEqual(rle.size, [64, 64]);
        assert.deepEqual(Buffer.from(decode(rle).data), Buffer.from(scene.instances[j].mask));
        assert.equal(a.area, rleArea(rle));
        assert.deepEqual(a.bbox, toBbox(rle));
        assert.equal(a.iscrowd, 0);
        assert.equal(a.category_id, scene.instances[j].classId + 1);
      });
    }
  });

  test('the same seed gives byte-identical files; an existing folder needs --force', async () => {
    const a = join(work, 'same1');
    const b = join(work, 'same2');
    await writeSynthDataset(a, { images: 6, seed: 9, size: 48 });
    await writeSynthDataset(b, { images: 6, seed: 9, size: 48 });
    assert.deepEqual(await listBytes(a), await listBytes(b));
    await assert.rejects(
      writeSynthDataset(a, { images: 2, seed: 1, size: 48 }),
      /exists and is not empty; pass --force/,
    );
    await writeSynthDataset(a, { images: 2, seed: 1, size: 48, force: true });
    assert.deepEqual((await readdir(join(a, 'images'))).length, 2);
    assert.deepEqual(
      (await readdir(work)).filter((n) => n.startsWith('.')),
      [],
      'temp folders left behind',
    );
  });

  test('an empty existing folder is filled; a file in the way is refused', async () => {
    const empty = join(work, 'empty');
    await mkdir(empty);
    await writeSynthDataset(empty, { images: 1, seed: 0, size: 32 });
    assert.ok((await readdir(empty)).includes('annotations.json'));
    const file = join(work, 'file');
    await writeFile(file, 'x');
    await assert.rejects(writeSynthDataset(file, { images: 1, seed: 0 }), /exists and is not a folder/);
  });

  test('the CLI is registered and writes a dataset', () => {
    const out = join(work, 'cli');
    const r = spawnSync(
      process.execPath,
      [
        'bin/wish.js',
        'synth',
        '--out',
        out,
        '--images',
        '3',
        '--size',
        '40',
        '--seed',
        '2',
        '--classes',
        'star,cross,ring,square',
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote 3 images \(40x40, classes star, cross, ring, square\)/);
    const bad = spawnSync(process.execPath, ['bin/wish.js', 'synth', '--out', out, '--images', 'x'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--images must be an integer, got "x"/);
  });
});

function countShape(shape: Parameters<typeof rasterizeShape>[0], S: number): number {
  return rasterizeShape(shape, S, S, new Int32Array(S * S));
}

function anyTouch(masks: Uint8Array[], S: number): boolean {
  const owner = new Int16Array(S * S).fill(-1);
  masks.forEach((m, j) => m.forEach((v, p) => v && (owner[p] = j)));
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const o = owner[y * S + x];
      if (o < 0) continue;
      if (x + 1 < S && owner[y * S + x + 1] >= 0 && owner[y * S + x + 1] !== o) return true;
      if (y + 1 < S && owner[(y + 1) * S + x] >= 0 && owner[(y + 1) * S + x] !== o) return true;
    }
  }
  return false;
}

async function listBytes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name), `${rel}${e.name}/`);
      else out[rel + e.name] = (await readFile(join(d, e.name))).toString('base64');
    }
  };
  await walk(dir, '');
  return out;
}

test('texture kinds are an option: solid alone gives flat fills; unknown kinds are refused', () => {
  for (let i = 0; i < 5; i++) {
    const scene = generateScene(4, i, { textures: ['solid'], blobs: [0, 0], lines: [0, 0] });
    assert.ok(scene.instances.length > 0);
    for (const inst of scene.instances) assert.equal(inst.texture.kind, 'solid');
    // a flat instance: every visible pixel has one colour
    const inst = scene.instances[scene.instances.length - 1];
    const colours = new Set<string>();
    inst.mask.forEach((v, p) => {
      if (v) colours.add(Array.from(scene.image.subarray(p * 3, p * 3 + 3)).join(','));
    });
    assert.equal(colours.size, 1);
  }
  assert.throws(() => generateScene(4, 0, { textures: [] }), /at least one texture/);
  assert.throws(() => generateScene(4, 0, { textures: ['plaid' as never] }), /unknown texture "plaid"/);
});
