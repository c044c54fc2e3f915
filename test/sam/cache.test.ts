// Embedding cache: entry format, resume, stale / corrupt detection, failures by name, and the real tiny
// SAM encoder through `runSamEmbed` against the fixture's image_embeddings.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import { savePng } from '../../src/data/image/io.ts';
import type { RgbImage } from '../../src/data/image/types.ts';
import { decodeEntry, encodeEntry, sha256 } from '../../src/sam/cache/entry-format.ts';
import {
  buildEmbeddingCache,
  entryPath,
  entryState,
  readCachedEmbedding,
  type CacheImage,
  type EmbedFn,
} from '../../src/sam/cache/embed-cache.ts';
import { listDatasetImages, listImageFolder } from '../../src/sam/cache/image-list.ts';
import { runSamEmbed } from '../../src/cli/commands/sam-embed.ts';
import { hasSamFixture, readFixture, SAM_FIXTURE } from './fixture.ts';

const withDir = async (fn: (dir: string) => Promise<void>): Promise<void> => {
  const dir = await mkdtemp(join(tmpdir(), 'sam-cache-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

const image = (w: number, h: number, seed: number): RgbImage => ({
  width: w,
  height: h,
  data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 31 + seed * 17) % 256),
});

// A stand-in encoder: a [1, 2, 3, 4] embedding from the image's mean and size, counting its calls.
function fakeEmbed(): { fn: EmbedFn; calls: string[] } {
  const calls: string[] = [];
  const fn: EmbedFn = (img) => {
    let s = 0;
    for (const v of img.data) s += v;
    calls.push(`${img.width}x${img.height}`);
    const mean = s / img.data.length;
    const embedding = torch
      .arange(24, undefined, 1, { dtype: 'float32' })
      .mul(mean / 100)
      .reshape(1, 2, 3, 4);
    return { embedding, originalSize: [img.height, img.width], inputSize: [img.height * 2, img.width * 2] };
  };
  return { fn, calls };
}

async function makeImages(dir: string, n: number): Promise<CacheImage[]> {
  const out: CacheImage[] = [];
  for (let i = 0; i < n; i++) {
    const path = join(dir, 'imgs', `im${i}.png`);
    await savePng(path, image(5 + i, 4, i));
    out.push({ name: `im${i}.png`, path });
  }
  return out;
}

test('entry format: round trip and every kind of damage is detected', () => {
  const payload = new Uint8Array(2 * 6).map((_, i) => i);
  const header = {
    shape: [1, 2, 3],
    modelId: 'm1',
    imageSha256: sha256(new Uint8Array([1])),
    originalSize: [3, 4] as [number, number],
    inputSize: [6, 8] as [number, number],
  };
  const bytes = encodeEntry(header, payload);
  const d = decodeEntry(bytes);
  assert.ok(d.ok);
  assert.deepEqual(d.header.shape, [1, 2, 3]);
  assert.deepEqual(Array.from(d.payload), Array.from(payload));
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 3] ^= 1;
  assert.deepEqual(decodeEntry(flipped), { ok: false, reason: 'payload checksum mismatch' });
  assert.match(
    (decodeEntry(bytes.subarray(0, bytes.length - 1)) as { reason: string }).reason,
    /payload has 11 bytes/,
  );
  assert.match((decodeEntry(bytes.subarray(0, 10)) as { reason: string }).reason, /too short/);
  const badMagic = Buffer.from(bytes);
  badMagic[0] = 0x41;
  assert.match((decodeEntry(badMagic) as { reason: string }).reason, /bad magic/);
  assert.throws(() => encodeEntry(header, new Uint8Array(3)), /needs 12/);
});

test('cache round trip (float16), then resume skips every valid entry', async () => {
  await withDir(async (dir) => {
    const images = await makeImages(dir, 3);
    const out = join(dir, 'cache');
    const f = fakeEmbed();
    const s1 = await buildEmbeddingCache({ images, outDir: out, modelId: 'A', embed: f.fn });
    assert.equal(s1.computed.missing, 3);
    assert.equal(f.calls.length, 3);
    const { embedding, header } = await readCachedEmbedding(out, 'im1.png', { modelId: 'A' });
    assert.deepEqual(embedding.shape, [1, 2, 3, 4]);
    assert.deepEqual(header.originalSize, [4, 6]);
    assert.deepEqual(header.inputSize, [8, 12]);
    const want = torch.tidy(() =>
      f
        .fn(image(6, 4, 1))
        .embedding.half()
        .float()
        .toFloat32Array(),
    );
    assert.deepEqual(Array.from(embedding.toFloat32Array()), Array.from(want));
    embedding.dispose();
    const g = fakeEmbed();
    const s2 = await buildEmbeddingCache({ images, outDir: out, modelId: 'A', embed: g.fn });
    assert.equal(s2.skipped, 3);
    assert.equal(g.calls.length, 0);
  });
});

test('an interrupted run resumes where it stopped', async () => {
  await withDir(async (dir) => {
    const images = await makeImages(dir, 4);
    const out = join(dir, 'cache');
    const f = fakeEmbed();
    let n = 0;
    const dying: EmbedFn = (img) => {
      if (++n === 3) throw new Error('killed');
      return f.fn(img);
    };
    await assert.rejects(buildEmbeddingCache({ images, outDir: out, modelId: 'A', embed: dying }), /killed/);
    const g = fakeEmbed();
    const s = await buildEmbeddingCache({ images, outDir: out, modelId: 'A', embed: g.fn });
    assert.equal(s.skipped, 2);
    assert.equal(s.computed.missing, 2);
    assert.deepEqual(g.calls, ['7x4', '8x4']);
  });
});

test('corrupt, stale-model and changed-image entries are detected and recomputed', async () => {
  await withDir(async (dir) => {
    const images = await makeImages(dir, 3);
    const out = join(dir, 'cache');
    await buildEmbeddingCache({ images, outDir: out, modelId: 'A', embed: fakeEmbed().fn });
    // corrupt im0: truncate; im1: flip one payload byte
    const e0 = entryPath(out, 'im0.png');
    await writeFile(e0, (await readFile(e0)).subarray(0, 40));
    const e1 = entryPath(out, 'im1.png');
    const b1 = await readFile(e1);
    b1[b1.length - 1] ^= 0x10;
    await writeFile(e1, b1);
    assert.equal((await entryState(e1, 'A', sha256(await readFile(images[1].path)))).state, 'corrupt');
    await assert.rejects(
      readCachedEmbedding(out, 'im1.png'),
      /im1\.png\.samemb is corrupt: payload checksum mismatch/,
    );
    // im2's source changes
    await savePng(images[2].path, image(7, 4, 99));
    const f = fakeEmbed();
    const s = await buildEmbeddingCache({ images, outDir: out, modelId: 'A', embed: f.fn });
    assert.deepEqual(s.computed, { missing: 0, corrupt: 2, staleModel: 0, staleImage: 1 });
    assert.equal(f.calls.length, 3);
    // a new model id makes everything stale
    const g = fakeEmbed();
    const s2 = await buildEmbeddingCache({ images, outDir: out, modelId: 'B', embed: g.fn });
    assert.equal(s2.computed.staleModel, 3);
    await assert.rejects(readCachedEmbedding(out, 'im0.png', { modelId: 'A' }), /stale: model B, expected A/);
  });
});

test('missing and undecodable images are named; the others are still cached', async () => {
  await withDir(async (dir) => {
    const images = await makeImages(dir, 2);
    await writeFile(join(dir, 'imgs', 'broken.png'), 'not a png');
    const all = [
      images[0],
      { name: 'gone.png', path: join(dir, 'imgs', 'gone.png') },
      { name: 'broken.png', path: join(dir, 'imgs', 'broken.png') },
      images[1],
    ];
    const s = await buildEmbeddingCache({
      images: all,
      outDir: join(dir, 'cache'),
      modelId: 'A',
      embed: fakeEmbed().fn,
    });
    assert.equal(s.computed.missing, 2);
    assert.deepEqual(
      s.failed.map((f) => f.name),
      ['gone.png', 'broken.png'],
    );
    assert.match(s.failed[0].reason, /no such file/);
    assert.match(s.failed[1].reason, /cannot decode image .*broken\.png/);
  });
});

test('image lists: folder walk and dataset JSON (file_name relative to the JSON)', async () => {
  await withDir(async (dir) => {
    await makeImages(dir, 2);
    await mkdir(join(dir, 'imgs', 'sub'));
    await savePng(join(dir, 'imgs', 'sub', 'z.jpg.png'), image(3, 3, 0));
    await writeFile(join(dir, 'imgs', 'notes.txt'), 'x');
    assert.deepEqual(
      (await listImageFolder(join(dir, 'imgs'))).map((i) => i.name),
      ['im0.png', 'im1.png', 'sub/z.jpg.png'],
    );
    const json = join(dir, 'data.json');
    await writeFile(
      json,
      JSON.stringify({
        images: [
          { id: 1, file_name: 'imgs/im0.png' },
          { id: 7, file_name: '/abs/x.png' },
        ],
        annotations: [],
        categories: [],
      }),
    );
    const list = await listDatasetImages(json);
    assert.deepEqual(list, [
      { name: 'imgs/im0.png', path: join(dir, 'imgs', 'im0.png') },
      { name: 'image-7/x.png', path: '/abs/x.png' },
    ]);
    await writeFile(json, JSON.stringify({ images: [{ id: 1 }], annotations: [], categories: [] }));
    await assert.rejects(
      listDatasetImages(json),
      /data\.json: cannot list the images to embed:\n\s+images\[0\]: no "file_name"/,
    );
  });
});

test(
  'runSamEmbed with the tiny SAM: embeddings equal the official ones to float16 precision',
  { skip: hasSamFixture ? false : 'no SAM fixture' },
  async () => {
    await withDir(async (dir) => {
      await mkdir(join(dir, 'imgs'));
      await copyFile(join(SAM_FIXTURE, 'landscape', 'image.png'), join(dir, 'imgs', 'landscape.png'));
      const json = join(dir, 'data.json');
      await writeFile(
        json,
        JSON.stringify({
          images: [
            { id: 1, file_name: 'imgs/landscape.png' },
            { id: 2, file_name: 'imgs/lost.jpg' },
          ],
          annotations: [],
          categories: [],
        }),
      );
      const opts = {
        checkpoint: join(SAM_FIXTURE, 'tiny_sam.pth'),
        config: join(SAM_FIXTURE, 'tiny_sam_config.json'),
        data: json,
        out: join(dir, 'cache'),
        progress: false,
      };
      const s = await runSamEmbed(opts);
      assert.equal(s.computed.missing, 1);
      assert.deepEqual(
        s.failed.map((f) => f.name),
        ['imgs/lost.jpg'],
      );
      const { embedding, header } = await readCachedEmbedding(opts.out, 'imgs/landscape.png');
      assert.deepEqual(header.originalSize, [180, 240]);
      assert.deepEqual(header.inputSize, [192, 256]);
      const want = readFixture('landscape/image_embeddings').data;
      const got = embedding.toFloat32Array();
      let err = 0;
      for (let i = 0; i < got.length; i++)
        err = Math.max(err, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
      assert.ok(err < 1e-3, `relative error ${err}`); // float16 has an 11-bit significand: <= 2^-11 relative
      embedding.dispose();
      const again = await runSamEmbed(opts);
      assert.equal(again.skipped, 1);
    });
  },
);
