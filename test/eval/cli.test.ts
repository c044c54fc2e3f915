// `wish eval` end to end on the shared fixture: spawns the real CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '../data/mask-fixture-path.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const gtFile = fixturePath('coco', 'gt.json');

function wish(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'wish.js'), 'eval', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, number> {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

test('--json: the last stdout line holds the 12 stats equal to pycocotools (segm and bbox)', () => {
  const refBox = JSON.parse(readFileSync(fixturePath('coco', 'ref_res_bbox.json'), 'utf8'));
  const refSegm = JSON.parse(readFileSync(fixturePath('coco', 'ref_res.json'), 'utf8')).segm;
  for (const [file, type, ref] of [
    ['res.json', 'segm', refSegm],
    ['res_bbox.json', 'bbox', refBox.bbox],
  ] as const) {
    const r = wish('--gt', gtFile, '--results', fixturePath('coco', file), '--iou-type', type, '--json');
    assert.equal(r.code, 0, r.stderr);
    const got = lastJson(r.stdout);
    assert.deepEqual(Object.keys(got), [
      'AP',
      'AP50',
      'AP75',
      'APs',
      'APm',
      'APl',
      'AR1',
      'AR10',
      'AR100',
      'ARs',
      'ARm',
      'ARl',
    ]);
    for (const k of Object.keys(ref))
      assert.ok(Math.abs(got[k] - ref[k]) <= 1e-12, `${type} ${k}: ${got[k]} vs ${ref[k]}`);
  }
});

test('without --json: the familiar summary lines and a per-category table', () => {
  const r = wish('--gt', gtFile, '--results', fixturePath('coco', 'res.json'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= {3}all \| maxDets=100 \] = 0\.373$/m,
  );
  assert.match(
    r.stdout,
    /^ Average Recall {5}\(AR\) @\[ IoU=0\.50:0\.95 \| area= large \| maxDets=100 \] = 0\.900$/m,
  );
  assert.match(r.stdout, /^ 9 {2}unused +-1\.000/m); // a category without ground truth
  assert.doesNotMatch(r.stdout.trimEnd().split('\n').pop()!, /^\{/);
});

test('bad results are refused with exit code 1 and a message naming the file and record', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wish-eval-'));
  try {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ image_id: 999999, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]));
    const r = wish('--gt', gtFile, '--results', bad, '--iou-type', 'bbox');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.json\[0\]: image_id 999999 is not an image of the ground truth/);
    writeFileSync(bad, '{"not": "a list"}');
    assert.match(wish('--gt', gtFile, '--results', bad).stderr, /bad\.json: results must be a JSON list/);
    assert.match(wish('--gt', gtFile, '--results', bad, '--iou-type', 'keypoints').stderr, /segm, bbox/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
