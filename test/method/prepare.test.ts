// wish prepare with the tiny fixture SAM on a handful of small synthetic images: the batched per-image
// labels equal SamPredictor.predict's single-prompt masks, an interrupted run resumes to the same files,
// another teacher is refused (unless force), and loadPrepared reads back exactly what was written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as torch from '../../src/engine/index.ts';
import { saveSafetensors } from '../../src/engine/io/checkpoint.ts';
import { decode } from '../../src/data/mask/index.ts';
import { ANNOTATIONS_FILE, writeSynthDataset } from '../../src/data/synth/index.ts';
import { writeWeakDataset, type WeakAnnotation, type WeakDataset } from '../../src/data/weak/index.ts';
import { loadSam } from '../../src/sam/build.ts';
import { SamPredictor } from '../../src/sam/predictor.ts';
import { LABELS_FILE } from '../../src/method/prepare/labels-file.ts';
import { loadPrepared } from '../../src/method/prepare/load.ts';
import { MANIFEST_FILE, runPrepare } from '../../src/method/prepare/prepare.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIX = join(repoRoot, '..', 'shared', 'fixtures', 'sam');
const CKPT = join(FIX, 'tiny_sam.pth');
const CFG = join(FIX, 'tiny_sam_config.json');
const skip = existsSync(CKPT) ? false : 'SAM fixture not found at ../shared/fixtures/sam';

let dir = '';
let weakPath = '';

interface CocoLike {
  images: { id: number; file_name: string; width: number; height: number }[];
  annotations: { id: number; image_id: number; category_id: number; bbox: number[] }[];
  categories: { id: number; name: string }[];
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'wish-prepare-'));
  await writeSynthDataset(join(dir, 'synth'), {
    images: 5,
    seed: 7,
    size: 72,
    minInstances: 2,
    maxInstances: 4,
  });
  const coco = JSON.parse(readFileSync(join(dir, 'synth', ANNOTATIONS_FILE), 'utf8')) as CocoLike;
  // Images 0, 3: points (box centres); 1, 4: boxes; 2: tags.
  const kinds = ['point', 'box', 'tag', 'point', 'box'] as const;
  const weak: WeakDataset = {
    images: coco.images.map((im, i) => ({
      ...im,
      label_type: kinds[i],
      ...(kinds[i] === 'tag'
        ? {
            tags: [
              ...new Set(coco.annotations.filter((a) => a.image_id === im.id).map((a) => a.category_id)),
            ],
          }
        : {}),
    })),
    annotations: coco.annotations.flatMap((a): WeakAnnotation[] => {
      const k = kinds[coco.images.findIndex((im) => im.id === a.image_id)];
      const base = { id: a.id, image_id: a.image_id, category_id: a.category_id };
      if (k === 'point')
        return [
          { ...base, point: [a.bbox[0] + a.bbox[2] / 2, a.bbox[1] + a.bbox[3] / 2] as [number, number] },
        ];
      if (k === 'box') return [{ ...base, bbox: a.bbox as [number, number, number, number] }];
      return [];
    }),
    categories: coco.categories,
  };
  weakPath = join(dir, 'synth', 'weak.json');
  await writeWeakDataset(weakPath, weak);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const prepare = (out: string, extra: Partial<Parameters<typeof runPrepare>[0]> = {}) =>
  runPrepare({ data: weakPath, sam: CKPT, samConfig: CFG, out: join(dir, out), progress: false, ...extra });

test(
  'prepare: batched labels equal SamPredictor.predict per prompt; tag images cached; summary counts',
  { skip },
  async () => {
    const s = await prepare('full');
    assert.equal(s.images, 4);
    assert.equal(s.computed, 4);
    assert.equal(s.failures.length, 0);
    assert.equal(s.embeddedImages, 1);
    const ds = await loadPrepared(join(dir, 'full'));
    assert.equal(ds.manifest.complete, true);
    const nPoint = ds.weak.annotations.filter((a) => a.point).length;
    const nBox = ds.weak.annotations.filter((a) => a.bbox).length;
    assert.deepEqual(s.labels, { point: nPoint, box: nBox });
    assert.ok(existsSync(join(ds.embeddingsDir, ds.weak.images[2].file_name + '.samemb')));

    const sam = await loadSam(CKPT, { config: CFG });
    const predictor = new SamPredictor(sam);
    try {
      let checked = 0;
      for (const im of ds.weak.images) {
        const labels = ds.labels.get(im.id);
        if (im.label_type === 'tag') {
          assert.equal(labels, undefined);
          continue;
        }
        await predictor.setImage(join(dir, 'synth', im.file_name));
        const anns = ds.weak.annotations.filter((a) => a.image_id === im.id);
        assert.equal(labels!.length, anns.length);
        for (const [i, lab] of labels!.entries()) {
          const a = anns[i];
          assert.equal(lab.annotationId, a.id);
          assert.equal(lab.categoryId, a.category_id);
          const single = torch.tidy(() => {
            const p = a.point
              ? predictor.predict({ pointCoords: [a.point], pointLabels: [1], multimaskOutput: true })
              : predictor.predict({
                  box: [a.bbox![0], a.bbox![1], a.bbox![0] + a.bbox![2], a.bbox![1] + a.bbox![3]],
                  multimaskOutput: true,
                });
            return {
              masks: p.masks.to('uint8').toTypedArray() as Uint8Array,
              iou: Array.from(p.iouPredictions.toFloat32Array()),
              stab: Array.from(p.stabilityScores.toFloat32Array()),
            };
          });
          const hw = im.width * im.height;
          for (let j = 0; j < 3; j++) {
            const m = decode(lab.masks[j]);
            assert.deepEqual([m.height, m.width], [im.height, im.width]);
            assert.deepEqual(
              m.data,
              single.masks.subarray(j * hw, (j + 1) * hw),
              `image ${im.id} label ${i} mask ${j}`,
            );
            assert.ok(Math.abs(lab.iou[j] - single.iou[j]) < 1e-5);
            assert.ok(Math.abs(lab.stability[j] - single.stab[j]) < 1e-6);
          }
          checked++;
        }
      }
      assert.equal(checked, nPoint + nBox);
    } finally {
      predictor.dispose();
      sam.dispose();
    }
  },
);

test('prepare: an interrupted run (and a torn last line) resumes to the same result', { skip }, async () => {
  await prepare('ref');
  const stop = new Error('simulated interruption');
  await assert.rejects(
    prepare('resumed', {
      onImageDone: (_id, done) => {
        if (done === 2) throw stop;
      },
    }),
    /simulated interruption/,
  );
  const partial = await readFile(join(dir, 'resumed', LABELS_FILE), 'utf8');
  assert.equal(partial.trim().split('\n').length, 2);
  const m = JSON.parse(await readFile(join(dir, 'resumed', MANIFEST_FILE), 'utf8')) as { complete: boolean };
  assert.equal(m.complete, false);
  await assert.rejects(loadPrepared(join(dir, 'resumed')), /did not complete/);
  await appendFile(join(dir, 'resumed', LABELS_FILE), '{"image_id": 99, "lab'); // torn by a crash
  const s = await prepare('resumed');
  assert.equal(s.resumed, 2);
  assert.equal(s.computed, 2);
  assert.equal(
    await readFile(join(dir, 'resumed', LABELS_FILE), 'utf8'),
    await readFile(join(dir, 'ref', LABELS_FILE), 'utf8'),
  );
  // A finished folder reruns as a no-op.
  const again = await prepare('resumed');
  assert.equal(again.computed, 0);
  assert.equal(again.resumed, 4);
});

test('prepare: another teacher is refused unless --force', { skip }, async () => {
  await prepare('mix');
  const sam = await loadSam(CKPT, { config: CFG });
  const other = join(dir, 'other.safetensors');
  try {
    // Same weights, other file: a different sha256, so a different teacher as far as the folder knows.
    await saveSafetensors(other, sam.stateDict());
  } finally {
    sam.dispose();
  }
  await assert.rejects(prepare('mix', { sam: other }), /Refusing to mix teachers/);
  const s = await prepare('mix', { sam: other, force: true });
  assert.equal(s.computed, 4);
  assert.equal(s.resumed, 0);
  const ds = await loadPrepared(join(dir, 'mix'));
  assert.equal(ds.manifest.teacher.checkpoint, resolve(other));
});

test('loadPrepared: round trip of the manifest and labels; clear errors', { skip }, async () => {
  const out = join(dir, 'full');
  const ds = await loadPrepared(out);
  const lines = (await readFile(join(out, LABELS_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { image_id: number; labels: unknown[] });
  assert.deepEqual(
    lines.map((l) => l.image_id),
    [...lines.map((l) => l.image_id)].sort((a, b) => a - b),
  );
  assert.equal(ds.labels.size, lines.length);
  for (const l of lines) assert.deepEqual(ds.labels.get(l.image_id), l.labels);
  assert.equal(ds.manifest.counts.images, 4);
  assert.equal(ds.manifest.teacher.config.imgSize, 256);
  assert.equal(ds.weak.images.length, 5);
  await assert.rejects(loadPrepared(join(dir, 'nowhere')), /prepared-dataset manifest/);
});

test('prepare: invalid weak-label data is rejected with the record named', { skip }, async () => {
  const bad = join(dir, 'synth', 'bad.json');
  const ds = JSON.parse(await readFile(weakPath, 'utf8')) as { images: { id: number; label_type: string }[] };
  ds.images[1].label_type = 'pointy';
  await writeFile(bad, JSON.stringify(ds));
  await assert.rejects(
    runPrepare({ data: bad, sam: CKPT, samConfig: CFG, out: join(dir, 'bad'), progress: false }),
    new RegExp(`bad\\.json: image id ${ds.images[1].id} \\(images\\[1\\]\\), field "label_type"`),
  );
});
