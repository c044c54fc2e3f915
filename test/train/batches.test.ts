// The data pipeline: the oracle's three nested levels, batches that mix label kinds with targets that
// follow the augmentation, determinism per (seed, iteration), and the oracle teacher's answers.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { before, test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import { mapPoint } from '../../src/data/augment/index.ts';
import { tagsToPointsConfigSchema } from '../../src/method/config.ts';
import { postprocessMasks } from '../../src/sam/postprocess.ts';
import { resizedShape } from '../../src/sam/preprocess.ts';
import { BatchSource, tagTargets } from '../../src/train/batches.ts';
import { gtMasks, threeLevels } from '../../src/train/oracle.ts';
import { syntheticSet } from './helpers.ts';

let set: Awaited<ReturnType<typeof syntheticSet>>;
before(async () => {
  set = await syntheticSet(8, { tag: 2, point: 2, box: 2, mask: 2 });
});

test('threeLevels: a 3x3 square in 7x7 erodes to its centre and dilates to 5x5 (radius 1)', () => {
  const W = 7;
  const data = new Uint8Array(49);
  for (let y = 2; y <= 4; y++) for (let x = 2; x <= 4; x++) data[y * W + x] = 1;
  const [e, m, d] = threeLevels({ height: 7, width: 7, data }, 1);
  const ones = (a: Uint8Array): number[] => [...a.keys()].filter((i) => a[i] === 1);
  assert.deepEqual(ones(e.data), [3 * W + 3]);
  assert.deepEqual(ones(m.data), ones(data));
  const want: number[] = [];
  for (let y = 1; y <= 5; y++) for (let x = 1; x <= 5; x++) want.push(y * W + x);
  assert.deepEqual(ones(d.data), want);
  // A 1-pixel line would vanish under erosion: level 1 falls back to the mask.
  const line = new Uint8Array(49);
  line[3 * W + 1] = line[3 * W + 2] = 1;
  assert.deepEqual(ones(threeLevels({ height: 7, width: 7, data: line }, 1)[0].data), [3 * W + 1, 3 * W + 2]);
});

const source = (batchSize: number) =>
  new BatchSource(set.prepared, {
    inputSize: 64,
    batchSize,
    augment: { minScale: 0.6, maxScale: 1.4, flipProb: 0.5 },
    seed: 5,
    cacheImages: true,
    latents: set.latents,
  });

test('batches mix label kinds; point targets read 1 at the augmented point on the true-mask level', async () => {
  const src = source(8);
  const b = await src.batch(0);
  assert.deepEqual(b.images.shape, [8, 3, 64, 64]);
  const kinds = new Set(b.samples.map((s) => s.image.label_type));
  assert.deepEqual([...kinds].sort(), ['box', 'mask', 'point', 'tag']);
  let checked = 0;
  b.samples.forEach((s, i) => {
    const t = b.targets[i];
    if (s.image.label_type === 'tag') {
      assert.equal(t, null); // filled after the forward pass
      assert.ok(s.tags.length > 0);
      return;
    }
    assert.ok(t);
    assert.equal(t.classes.length, t.masks.count);
    if (s.image.label_type === 'mask') {
      assert.equal(t.masks.levels, 1);
      assert.equal(t.prompts, null);
      return;
    }
    assert.equal(t.masks.levels, 3);
    if (t.classes.length === 0) return;
    assert.equal(t.prompts!.kind, s.image.label_type);
    assert.deepEqual(t.prompts!.latents.shape, [t.classes.length, 2, 256]);
    if (s.image.label_type !== 'point') return;
    // The label's click, carried into the augmented frame, lies inside the true mask (level index 1).
    s.labels.forEach((l, j) => {
      const [x, y] = mapPoint(s.frame, l.prompt);
      const coords = torch.tensor([[[x / 64, y / 64]]]);
      const v = t.masks.samplePairs([j], [1], coords).toFloat32Array()[0];
      assert.ok(v > 0.5, `label ${l.annotationId}: target ${v} at its own click`);
      checked++;
    });
  });
  assert.ok(checked > 0);
  b.dispose();
});

test('the same iteration gives the same batch; the order covers every image once per epoch', async () => {
  const a = await source(2).batch(3);
  const b = await source(2).batch(3);
  assert.deepEqual(a.images.toFloat32Array(), b.images.toFloat32Array());
  a.dispose();
  b.dispose();
  const src = source(2);
  const seen = [0, 1, 2, 3].flatMap((it) => src.indicesOf(it));
  assert.deepEqual(
    [...seen].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
});

test('augmentation workers give the same batches as the training thread, and name a bad image', async () => {
  const plain = source(8);
  const pooled = new BatchSource(set.prepared, { ...plain.opts, workers: 2 });
  try {
    for (const it of [0, 1, 2, 5, 6]) {
      // 5 after 2: a skipped iteration's prefetch is dropped, not served.
      const a = await plain.batch(it);
      const b = await pooled.batch(it);
      assert.deepEqual(b.images.toFloat32Array(), a.images.toFloat32Array(), `iteration ${it}: images`);
      a.samples.forEach((s, j) => {
        const t = b.samples[j];
        assert.equal(t.image.id, s.image.id);
        assert.deepEqual(t.frame, s.frame);
        assert.deepEqual(t.pixels, s.pixels);
        assert.deepEqual(t.classes, s.classes);
        assert.deepEqual(t.labels, s.labels);
        assert.deepEqual(t.dense, s.dense);
        assert.deepEqual(t.tags, s.tags);
        const ta = a.targets[j];
        const tb = b.targets[j];
        assert.equal(tb === null, ta === null);
        if (ta && tb) {
          const values = (x: typeof ta): Float32Array =>
            (x.masks as unknown as { masks: torch.Tensor }).masks.float().toFloat32Array();
          assert.deepEqual(values(tb), values(ta), `iteration ${it} image ${j}: targets`);
          assert.deepEqual(tb.classes, ta.classes);
        }
      });
      a.dispose();
      b.dispose();
    }
  } finally {
    await pooled.close();
  }
  assert.equal((await pooled.batch(0)).images.shape[0], 8); // closed: back to the training thread

  const broken = {
    ...set.prepared,
    manifest: { ...set.prepared.manifest, images: '/nonexistent-folder' },
  };
  const bad = new BatchSource(broken, { ...plain.opts, workers: 1 });
  await assert.rejects(bad.batch(0), /cannot read image \/nonexistent-folder\/.*: no such file/);
  await bad.close();
});

test('a process that awaits only its augmentation workers stays alive until they answer', () => {
  const im = set.prepared.weak.images[0];
  const file = path.join(set.prepared.manifest.images, im.file_name);
  const pool = new URL('../../src/train/augment-pool.ts', import.meta.url).href;
  const job = { file, width: im.width, height: im.height, instances: [], randSeed: 1, cache: false };
  const code = [
    `import { AugmentPool } from ${JSON.stringify(pool)};`,
    'const pool = new AugmentPool(1);',
    `const job = { ...${JSON.stringify(job)}, options: { targetWidth: 32, targetHeight: 32 } };`,
    'const r = await pool.run(job, 0);', // nothing else holds the event loop here
    "console.log('warped', r.image.width, r.image.height);",
    'await pool.close();',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
  });
  assert.match(out, /warped 32 32/);
});

test('the oracle teacher answers a point inside an instance with that instance, background with nothing', () => {
  const ann = set.weak.annotations.find((a) => a.point !== undefined)!;
  const weakIm = set.weak.images.find((w) => w.id === ann.image_id)!;
  const [x, y] = ann.point!;
  const out = set.teacher.predictPoints(
    weakIm.file_name,
    torch.tensor([
      [x, y],
      [0.5, 0.5],
    ]),
  );
  const L = set.prepared.manifest.teacher.config.imgSize;
  assert.deepEqual(out.lowResLogits.shape, [2, 3, L / 4, L / 4]);
  const s = out.stability.toFloat32Array();
  assert.ok(s[1] > 0);
  assert.equal(s[3 + 1], 0);
});

test("tag images: SAM's masks for the CAM peaks become binary original-frame targets read through the frame map", async () => {
  const b = await source(8).batch(0);
  const i = b.samples.findIndex((s) => s.image.label_type === 'tag');
  const s = b.samples[i];
  const S = 64;
  // One CAM peak per tag, on a pixel inside an instance of that class (its 3 x 3 neighbourhood too).
  const C = set.gt.categories.length;
  const cam = new Float32Array(C * S * S);
  const catIndex = new Map(set.gt.categories.map((c, k) => [c.id, k]));
  const masks = gtMasks(set.gt);
  for (const a of set.gt.annotations.filter((x) => x.image_id === s.image.id)) {
    const k = catIndex.get(a.category_id)!;
    if (!s.tags.includes(k) || cam.subarray(k * S * S, (k + 1) * S * S).some((v) => v > 0)) continue;
    const m = masks.get(a.id)!;
    let inside: [number, number] | null = null;
    for (let y = 1; y < m.height - 1 && !inside; y++)
      for (let x = 1; x < m.width - 1 && !inside; x++) {
        let all = true;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) all &&= m.data[(y + dy) * m.width + x + dx] === 1;
        if (all) inside = [x + 0.5, y + 0.5];
      }
    if (!inside) continue;
    const [ax, ay] = mapPoint(s.frame, inside);
    const cx = Math.floor(ax);
    const cy = Math.floor(ay);
    if (cx < 0 || cy < 0 || cx >= S || cy >= S) continue;
    cam[k * S * S + cy * S + cx] = 1;
  }
  const cams = torch.fromTypedArray(cam, [C, S, S]);
  const L = set.prepared.manifest.teacher.config.imgSize;
  const r = await tagTargets(s, cams, set.teacher, set.latents, L, tagsToPointsConfigSchema.parse({}));
  const T = r.targets.classes.length;
  assert.ok(T > 0, 'the peaks gave point labels');
  assert.equal(r.targets.masks.levels, 3);
  assert.equal(r.targets.prompts!.kind, 'point');
  // Expected: the teacher's masks for the same points, postprocessed to the original frame, > 0.
  const { width: W, height: H } = s.image;
  const labels = (r.targets as unknown as { masks: { masks: torch.Tensor } }).masks.masks;
  assert.deepEqual(labels.shape, [T, 3, H, W]);
  const pts: number[] = [];
  const keep: number[] = [];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const [ax, ay] = mapPoint(s.frame, [x + 0.5, y + 0.5]);
      if (ax < 0 || ay < 0 || ax >= S || ay >= S) continue;
      pts.push(ax / S, ay / S);
      keep.push(y * W + x);
    }
  const got = r.targets.masks.sampleAll(torch.fromTypedArray(Float32Array.from(pts), [1, keep.length, 2]));
  assert.equal(r.labels.length, T);
  const out = await set.teacher.predictPoints(s.image.file_name, torch.tensor(r.labels.map((l) => l.point)));
  const want = postprocessMasks(out.lowResLogits, {
    imgSize: L,
    inputSize: resizedShape([H, W], L),
    originalSize: [H, W],
  }).gt(0);
  const g = got.toFloat32Array();
  const w = want.reshape(T, 3, H * W).toTypedArray() as Uint8Array;
  let ones = 0;
  for (let t = 0; t < T * 3; t++)
    keep.forEach((p, j) => {
      const expected = w[t * H * W + p];
      ones += expected;
      assert.equal(g[t * keep.length + j] > 0.5 ? 1 : 0, expected, `target ${t}, pixel ${p}`);
    });
  assert.ok(ones > 0);
  torch.dispose([r.owned, cams, got, out.lowResLogits, out.iou, out.stability, want]);
  b.dispose();
});
