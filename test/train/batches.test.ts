// The data pipeline: the oracle's three nested levels, batches that mix label kinds with targets that
// follow the augmentation, determinism per (seed, iteration), and the oracle teacher's answers.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import { mapPoint } from '../../src/data/augment/index.ts';
import { BatchSource } from '../../src/train/batches.ts';
import { threeLevels } from '../../src/train/oracle.ts';
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
