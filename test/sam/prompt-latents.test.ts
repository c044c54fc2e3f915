// Prompt encoder: promptLatents (WISH's image-free prompt latents) against the fixture's sparse
// embeddings, a Fourier code computed by hand in plain JS, batch consistency and bad input.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { PromptEncoder } from '../../src/sam/prompt-encoder.ts';
import type { Sam } from '../../src/sam/sam.ts';
import { caseKey, loadTinySam, manifest, maxAbsDiff, readRaw } from './parity-fixture.ts';

let sam: Sam;
let pe: PromptEncoder;
before(async () => {
  sam = await loadTinySam();
  pe = sam.promptEncoder;
});
after(() => sam.dispose());

const caseOf = (image: string, name: string) =>
  manifest.cases.find((c) => c.image === image && c.name === name && c.multimask_output)!;

test('point latents equal the official sparse embeddings of one-point prompts (point + pad token)', () => {
  for (const [image, name] of [
    ['landscape', 'point1'],
    ['portrait', 'point1'],
  ]) {
    const key = caseKey(caseOf(image, name));
    torch.tidy(() => {
      const xy = Array.from(readRaw(`${key}/point_coords_transformed`).data);
      const z = pe.promptLatents({ points: [xy] });
      assert.deepEqual(z.shape, [1, 2, 64]);
      const err = maxAbsDiff(z.toFloat32Array(), readRaw(`${key}/sparse_embeddings`).data);
      assert.ok(err < 1e-4, `${key}: ${err}`);
    });
  }
});

test('box latents equal the official sparse embeddings of a box prompt (two corners)', () => {
  const key = caseKey(caseOf('landscape', 'box'));
  torch.tidy(() => {
    const box = Array.from(readRaw(`${key}/box_transformed`).data);
    const z = pe.promptLatents({ boxes: [box] });
    assert.deepEqual(z.shape, [1, 2, 64]);
    assert.ok(maxAbsDiff(z.toFloat32Array(), readRaw(`${key}/sparse_embeddings`).data) < 1e-4);
  });
});

test('a point latent is the Fourier code written out by hand plus the foreground embedding', () => {
  torch.tidy(() => {
    const L = 256;
    const [x, y] = [37.25, 201.5];
    const G = pe.peLayer.gaussianMatrix.toFloat32Array(); // [2, 32] row-major
    const F = G.length / 2;
    const fg = pe.pointEmbeddings.at(1).weight.toFloat32Array();
    const u = [2 * ((x + 0.5) / L) - 1, 2 * ((y + 0.5) / L) - 1];
    const want = new Float64Array(2 * F);
    for (let j = 0; j < F; j++) {
      const v = 2 * Math.PI * (u[0] * G[j] + u[1] * G[F + j]);
      want[j] = Math.sin(v) + fg[j];
      want[F + j] = Math.cos(v) + fg[F + j];
    }
    const z = pe.promptLatents({ points: [[x, y]] }).toFloat32Array();
    assert.ok(maxAbsDiff(z.subarray(0, 2 * F), want) < 1e-4);
    // The second token is the padding point: not_a_point, whatever the coordinates.
    assert.deepEqual(z.subarray(2 * F), pe.notAPointEmbed.weight.toFloat32Array());
  });
});

test('latents of N prompts in one call equal N single calls; labels select the embedding', () => {
  torch.tidy(() => {
    const pts = [
      [0, 0],
      [255, 255],
      [12.5, 100],
      [180, 3],
    ];
    const all = pe.promptLatents({ points: pts, labels: [1, 0, 1, 0] });
    assert.deepEqual(all.shape, [4, 2, 64]);
    pts.forEach((p, i) => {
      const one = pe.promptLatents({ points: [p], labels: [i % 2 === 0 ? 1 : 0] });
      assert.ok(maxAbsDiff(one.toFloat32Array(), all.narrow(0, i, 1).toFloat32Array()) < 1e-6);
    });
    // Foreground and background differ exactly by pe[1] - pe[0] on the first token.
    const fg = pe.promptLatents({ points: [pts[2]], labels: [1] }).select(1, 0);
    const bg = pe.promptLatents({ points: [pts[2]], labels: [0] }).select(1, 0);
    const want = pe.pointEmbeddings.at(1).weight.sub(pe.pointEmbeddings.at(0).weight);
    assert.ok(maxAbsDiff(fg.sub(bg).toFloat32Array(), want.toFloat32Array()) < 1e-5);
    const boxes = pe.promptLatents({
      boxes: torch.tensor([
        [1, 2, 30, 40],
        [100, 50, 200, 250],
      ]),
    });
    assert.deepEqual(boxes.shape, [2, 2, 64]);
  });
});

test('promptLatents and the encoder reject malformed prompts with a clear message', () => {
  assert.throws(() => pe.promptLatents({}), /either points or boxes/);
  assert.throws(
    () => pe.promptLatents({ points: [[1, 2]], boxes: [[1, 2, 3, 4]] }),
    /either points or boxes/,
  );
  assert.throws(
    () => torch.tidy(() => pe.promptLatents({ boxes: [[1, 2, 3]] })),
    /boxes: expected shape \[\*, 4\]/,
  );
  assert.throws(
    () => torch.tidy(() => pe.forward({ masks: torch.zeros([1, 1, 32, 32]) })),
    /mask input: expected shape \[\*, 1, 64, 64\]/,
  );
  assert.throws(
    () =>
      torch.tidy(() =>
        pe.forward({
          points: { coords: torch.zeros([2, 1, 2]), labels: torch.ones([2, 1]) },
          boxes: torch.zeros([3, 4]),
        }),
      ),
    /disagree on the batch size/,
  );
});

test('Sam.promptLatents maps original-image coordinates as predict() does', () => {
  torch.tidy(() => {
    for (const c of [
      caseOf('landscape', 'point1'),
      caseOf('portrait', 'point1'),
      caseOf('landscape', 'box'),
    ]) {
      const hw = manifest.images[c.image].original_hw;
      const z = c.box
        ? sam.promptLatents(hw, { boxes: [c.box] })
        : sam.promptLatents(hw, { points: c.point_coords!, labels: c.point_labels! });
      const err = maxAbsDiff(z.toFloat32Array(), readRaw(`${caseKey(c)}/sparse_embeddings`).data);
      assert.ok(err < 1e-4, `${caseKey(c)}: ${err}`);
    }
  });
});
