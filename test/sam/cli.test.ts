// `wish sam predict` on the tiny checkpoint and the fixture images: its raw outputs against the official
// ones, the manifest, the overlay, and bad prompt strings.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseBox, parsePoints } from '../../src/cli/commands/sam.ts';
import {
  SAM_FIXTURE_DIR,
  TINY_SAM_CONFIG,
  TINY_SAM_PTH,
  caseKey,
  manifest,
  maxAbsDiff,
  readRaw,
} from './parity-fixture.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const wish = join(repoRoot, 'bin', 'wish.js');
const work = mkdtempSync(join(tmpdir(), 'wish-sam-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

function readOut(
  dir: string,
  name: string,
  entries: Record<string, { file: string; dtype: string; shape: number[] }>,
) {
  const e = entries[name];
  assert.ok(e, `manifest lists ${name}`);
  const buf = readFileSync(join(dir, e.file));
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return { data: e.dtype === 'uint8' ? new Uint8Array(bytes) : new Float32Array(bytes), shape: e.shape };
}

for (const [image, name, multimask] of [
  ['landscape', 'point1', true],
  ['portrait', 'box_point', false],
] as const) {
  test(`wish sam predict reproduces the official outputs: ${image}/${name}`, () => {
    const c = manifest.cases.find(
      (x) => x.image === image && x.name === name && x.multimask_output === multimask,
    )!;
    const out = join(work, `${image}-${name}`);
    const args = [wish, 'sam', 'predict', '--checkpoint', TINY_SAM_PTH, '--config', TINY_SAM_CONFIG];
    args.push('--image', join(SAM_FIXTURE_DIR, manifest.images[image].png), '--out', out);
    if (c.point_coords)
      args.push('--points', c.point_coords.map((p, i) => `${p[0]},${p[1]},${c.point_labels![i]}`).join(';'));
    if (c.box) args.push('--box', c.box.join(','));
    if (multimask) args.push('--multimask');
    execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.deepEqual(m.original_hw, manifest.images[image].original_hw);
    const key = caseKey(c);
    const img = manifest.images[image];
    const pairs: [string, string, number][] = [
      ['image_embeddings', img.tensors.image_embeddings, 1e-4],
      ['sparse_embeddings', `${key}/sparse_embeddings`, 1e-4],
      ['dense_embeddings', `${key}/dense_embeddings`, 1e-4],
      ['low_res_logits', `${key}/low_res_logits`, 1e-3],
      ['iou_predictions', `${key}/iou_predictions`, 1e-4],
      ['mask_logits', `${key}/mask_logits`, 1e-3],
      ['stability_scores', `${key}/stability_scores`, 1e-4],
    ];
    for (const [ours, theirs, tol] of pairs) {
      const got = readOut(out, ours, m.tensors);
      const want = readRaw(theirs);
      assert.deepEqual(got.shape, want.shape, ours);
      const err = maxAbsDiff(got.data, want.data);
      assert.ok(err < tol, `${ours}: max abs error ${err}`);
    }
    const masks = readOut(out, 'masks', m.tensors);
    const logits = readRaw(`${key}/mask_logits`).data;
    const want = readRaw(`${key}/masks`).data;
    for (let i = 0; i < want.length; i++)
      if (masks.data[i] !== want[i]) assert.ok(Math.abs(logits[i]) < 1e-3);
    const png = readFileSync(join(out, 'overlay.png'));
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  });
}

test('prompt strings are parsed, and bad ones are refused before the model loads', () => {
  assert.deepEqual(parsePoints('1,2,1; 3.5,4,0;'), [
    [1, 2, 1],
    [3.5, 4, 0],
  ]);
  assert.deepEqual(parseBox(' 1, 2 ,30,40'), [1, 2, 30, 40]);
  assert.throws(() => parsePoints('1,2'), /point 1 "1,2" is not x,y,label/);
  assert.throws(() => parsePoints('1,2,1;3,4,5'), /point 2 has label 5/);
  assert.throws(() => parseBox('1,2,3'), /not x0,y0,x1,y1/);
  assert.throws(() => parseBox('10,2,3,40'), /x1 < x0/);
  const r = spawnSync(
    process.execPath,
    [
      wish,
      'sam',
      'predict',
      '--checkpoint',
      'nonexistent.pth',
      '--image',
      'x.png',
      '--points',
      '1,2,7',
      '--out',
      work,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 1);
  assert.match(r.stderr, /--points: point 1 has label 7/);
});
