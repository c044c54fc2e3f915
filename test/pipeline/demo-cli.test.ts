// `wish demo` through the CLI on small synthetic sets: --json's last stdout line, the report and its images;
// Ctrl-C (SIGINT) mid-training exits with 130 leaving only complete files, and the same command continues.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { checkpointIteration } from '../../src/pipeline/run-records.ts';
import { repoRoot, TINY_MODEL } from './helpers.ts';

const exec = promisify(execFile);
const wish = path.join(repoRoot, 'bin', 'wish.js');
// 16 training scenes: budget 80 at 1:6:12 with the default mix (10/30/60%) buys 8 tag, 4 point, 4 box images.
const small = [
  '--train-images',
  '16',
  '--val-images',
  '4',
  '--budget',
  '80',
  '--overlays',
  '2',
  '--size',
  '64',
];

const lastLine = (s: string): string => s.trim().split('\n').at(-1)!;

test('wish demo --iterations 2 --json: the last stdout line is the result; the report links existing images', async () => {
  const out = path.join(await mkdtemp(path.join(tmpdir(), 'wish-demo-')), 'demo');
  const args = [
    wish,
    'demo',
    '--out',
    out,
    '--seed',
    '1',
    '--iterations',
    '2',
    '--json',
    '--no-progress',
    ...small,
  ];
  const r = await exec('node', args);
  const j = JSON.parse(lastLine(r.stdout)) as Record<string, unknown>;
  for (const k of ['AP', 'AP50', 'AP75', 'seconds'])
    assert.ok(typeof j[k] === 'number' && Number.isFinite(j[k]), `${k}: ${j[k]}`);
  assert.equal(j.iterations, 2);
  const labels = j.labels as { images: Record<string, number> };
  assert.deepEqual(labels.images, { tag: 8, point: 4, box: 4 });
  const iou = j.teacherIou as Record<string, number>;
  assert.ok(iou.point > 0 && iou.point <= 1 && iou.box > 0 && iou.box <= 1, JSON.stringify(iou));
  assert.match(r.stderr, /weaken: budget 80 .* 8 tag images .* 4 point images .* 4 box images/);
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  const srcs = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
  // curves, 2 point + 2 box training scenes (teacher, truth), 2 val scenes (student, truth)
  assert.equal(srcs.length, 1 + 4 * 2 + 2 * 2);
  for (const s of srcs) {
    assert.ok(!path.isAbsolute(s), s);
    assert.ok((await stat(path.join(out, s))).isFile(), s);
  }
  assert.ok(html.includes(`--seed 1 --iterations 2`));
  // The same command again: nothing is recomputed up to the experiment, which returns its stored result.
  const again = await exec('node', args);
  assert.match(again.stderr, /reused.*reused/);
  assert.match(again.stderr, /up to date/);
  const j2 = JSON.parse(lastLine(again.stdout)) as Record<string, number>;
  assert.equal(j2.AP, j.AP);
  assert.ok(j2.seconds >= (j.seconds as number));
});

test('Ctrl-C during training leaves complete files; the same command continues and finishes', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'wish-demo-int-'));
  const config = path.join(root, 'tiny.json');
  await writeFile(
    config,
    JSON.stringify({
      model: TINY_MODEL,
      data: { prepared: '(demo)', valLimit: 0 },
      batchSize: 2,
      iterations: 150,
      loss: { numPoints: 64, matcher: { numPoints: 64 }, warmupIterations: 5 },
      checkpointEvery: 5,
      logEvery: 1,
    }),
  );
  const out = path.join(root, 'demo');
  const args = [wish, 'demo', '--out', out, '--config', config, '--json', '--no-progress', ...small];
  const ckpt = path.join(out, 'experiment', 'run', 'checkpoint.safetensors');
  const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  // Ctrl-C once training has written its first checkpoint (renamed into place, so complete when seen).
  const poll = setInterval(() => {
    void stat(ckpt).then(
      () => {
        clearInterval(poll);
        child.kill('SIGINT');
      },
      () => {},
    );
  }, 50);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve(code);
    }),
  );
  const code = await exited;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at training iteration \d+ of 150; run the same command again/);
  // Every JSON file that exists parses; the checkpoint, if any, is readable and unfinished.
  const files = (await readdir(out, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
  for (const f of files.filter((f) => f.endsWith('.json'))) JSON.parse(await readFile(f, 'utf8'));
  const at = await checkpointIteration(ckpt);
  assert.ok(at !== null && at > 0 && at < 150, `checkpoint at ${at}`);
  await assert.rejects(stat(path.join(out, 'report.html')), { code: 'ENOENT' });

  const r = await exec('node', args);
  assert.match(r.stderr, /synth: .* reused, .* reused/);
  assert.match(r.stderr, /\(reused\)/);
  assert.match(r.stderr, /\(0 images computed now, 8 earlier\)/);
  assert.match(r.stderr, new RegExp(`resuming at iteration ${at} of 150`));
  const j = JSON.parse(lastLine(r.stdout)) as { iterations: number; AP: number };
  assert.equal(j.iterations, 150);
  assert.ok(Number.isFinite(j.AP));
  await stat(path.join(out, 'report.html'));
});
