// Image I/O through sharp and the resampling kernels (hand-computed cases and properties).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import sharp from 'sharp';
import { decodeImage, encodePng, loadImage, savePng } from '../../src/data/image/io.ts';
import { nearestTable, resampleBilinear, resampleImage } from '../../src/data/image/resample.ts';
import { resizeFloat, resizeImage, resizeMask } from '../../src/data/image/resize.ts';

const work = await mkdtemp(join(tmpdir(), 'wish-image-test-'));
after(() => rm(work, { recursive: true, force: true }));

function randomImage(w: number, h: number, seed: number) {
  const data = new Uint8Array(w * h * 3);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width: w, height: h };
}

describe('image I/O', () => {
  test('PNG encode/decode round-trips pixels exactly, and saving is atomic', async () => {
    const img = randomImage(17, 9, 3);
    const back = await decodeImage(await encodePng(img), 'mem');
    assert.equal(back.width, 17);
    assert.equal(back.height, 9);
    assert.deepEqual(Buffer.from(back.data), Buffer.from(img.data));
    const path = join(work, 'sub', 'x.png');
    await savePng(path, img);
    assert.deepEqual(Buffer.from((await loadImage(path)).data), Buffer.from(img.data));
  });

  test('grey and RGBA inputs become 3-channel RGB', async () => {
    const grey = await sharp(Buffer.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const g = await decodeImage(grey, 'grey.png');
    assert.deepEqual([...g.data], [0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
    const rgba = await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]), {
      raw: { width: 2, height: 1, channels: 4 },
    })
      .png()
      .toBuffer();
    assert.deepEqual([...(await decodeImage(rgba, 'rgba.png')).data], [10, 20, 30, 40, 50, 60]);
  });

  test('errors name the file', async () => {
    await assert.rejects(
      loadImage(join(work, 'missing.png')),
      /cannot read image .*missing\.png: no such file/,
    );
    const junk = join(work, 'junk.jpg');
    await writeFile(junk, 'not an image at all');
    await assert.rejects(loadImage(junk), /cannot decode image .*junk\.jpg: /);
    await assert.rejects(encodePng({ data: new Uint8Array(5), width: 2, height: 2 }), /expected 2x2x3 = 12/);
  });
});

describe('resampling', () => {
  test('bilinear 2x upscale of [0, 100] (hand-computed, edge taps renormalised)', () => {
    // Output centres map to source pixel-centre coordinates -0.25, 0.25, 0.75, 1.25.
    const out = resampleBilinear(
      [0, 100],
      2,
      1,
      1,
      { scale: 2, offset: 0 },
      { scale: 1, offset: 0 },
      4,
      1,
      -1,
    );
    assert.deepEqual([...out], [0, 25, 75, 100]);
  });

  test('bilinear 2x downscale widens the filter (antialias, as PIL)', () => {
    // Output 0 sits at source 0.5 with support 2: weights 0.75, 0.75, 0.25 on pixels 0, 1, 2.
    const out = resampleBilinear(
      [0, 10, 20, 30],
      4,
      1,
      1,
      { scale: 0.5, offset: 0 },
      { scale: 1, offset: 0 },
      2,
      1,
      0,
    );
    assert.ok(Math.abs(out[0] - (10 * 0.75 + 20 * 0.25) / 1.75) < 1e-5);
    assert.ok(Math.abs(out[1] - (10 * 0.25 + 20 * 0.75 + 30 * 0.75) / 1.75) < 1e-5);
  });

  test('pixels whose centre maps outside the source are padding', () => {
    const out = resampleBilinear([5, 7], 2, 1, 1, { scale: 1, offset: 1 }, { scale: 1, offset: 0 }, 4, 1, -3);
    assert.deepEqual([...out], [-3, 5, 7, -3]);
    assert.deepEqual([...nearestTable({ scale: -1, offset: 3 }, 3, 4)], [2, 1, 0, -1]);
    assert.throws(() => nearestTable({ scale: 0, offset: 0 }, 3, 3), /non-zero scale/);
  });

  test('nearest mask resize (hand-computed)', () => {
    // 3x1 -> 6x1 repeats each pixel; 4x1 -> 2x1 samples pixels 1 and 3 (centres 1, 3).
    assert.deepEqual([...resizeMask(Uint8Array.from([1, 0, 1]), 3, 1, 6, 1)], [1, 1, 0, 0, 1, 1]);
    assert.deepEqual([...resizeMask(Uint8Array.from([0, 1, 0, 0]), 4, 1, 2, 1)], [1, 0]);
  });

  test('identity resize is exact; a constant image stays constant under any resize', () => {
    const img = randomImage(13, 7, 1);
    assert.deepEqual(resizeImage(img, 13, 7), img);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 255 }),
        (w, h, v) => {
          const c = { data: new Uint8Array(11 * 5 * 3).fill(v), width: 11, height: 5 };
          const out = resizeImage(c, w, h);
          return out.data.every((x) => x === v);
        },
      ),
    );
  });

  test('bilinear upscaling reproduces a linear ramp exactly between the outer pixel centres', () => {
    // f(k) = 3k + 1 at source pixel centres; output u samples source position (u + 0.5) / s - 0.5.
    const src = Float32Array.from({ length: 6 }, (_, k) => 3 * k + 1);
    for (const w of [12, 15, 23]) {
      const s = w / 6;
      const out = resizeFloat(src, 6, 1, w, 1);
      for (let u = 0; u < w; u++) {
        const xs = (u + 0.5) / s - 0.5;
        const want = xs < 0 ? 1 : xs > 5 ? 16 : 3 * xs + 1; // edges clamp to the outer pixel
        assert.ok(Math.abs(out[u] - want) < 1e-4, `w=${w} u=${u}: ${out[u]} vs ${want}`);
      }
    }
  });

  test('RGB resampling equals resampling each channel alone (flips, crops, padding, any scale)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.double({ min: 0.2, max: 3, noNaN: true }),
        fc.double({ min: 0.2, max: 3, noNaN: true }),
        fc.boolean(),
        fc.double({ min: -20, max: 20, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        (w, h, sx, sy, flip, off, seed) => {
          const img = randomImage(w, h, seed);
          const mx = { scale: flip ? -sx : sx, offset: flip ? w * sx + off : off };
          const my = { scale: sy, offset: -off / 2 };
          const rgb = resampleBilinear(img.data, w, h, 3, mx, my, 17, 9, 5);
          for (let c = 0; c < 3; c++) {
            const plane = img.data.filter((_, i) => i % 3 === c);
            const one = resampleBilinear(plane, w, h, 1, mx, my, 17, 9, 5);
            for (let k = 0; k < one.length; k++) if (!Object.is(one[k], rgb[k * 3 + c])) return false;
          }
          return true;
        },
      ),
    );
  });

  test('resampleImage checks buffer sizes', () => {
    assert.throws(
      () =>
        resampleImage(
          { data: new Uint8Array(3), width: 2, height: 2 },
          { scale: 1, offset: 0 },
          { scale: 1, offset: 0 },
          2,
          2,
        ),
      /expected 2x2x3 = 12/,
    );
  });
});
