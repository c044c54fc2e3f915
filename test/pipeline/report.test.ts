// The demo's HTML report on a small made-up result: the 12 stats appear as percentages, every linked image
// exists and is linked relatively, text is escaped, and a missing image is an error naming it.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { STAT_KEYS } from '../../src/eval/types.ts';
import type { ExperimentResult } from '../../src/pipeline/experiment.ts';
import { escapeHtml, formatStat, writeReport, type ReportData } from '../../src/pipeline/report.ts';

const stats = Object.fromEntries(STAT_KEYS.map((k, i) => [k, i === 5 ? -1 : (i + 1) / 100 + 0.0012]));

function fakeData(): ReportData {
  const result: ExperimentResult = {
    stats,
    iterations: 40,
    seconds: 12.5,
    prepare: { images: 6, labels: 17, seconds: 1.5 },
    times: {
      meanMs: { data: 1, sam: 2, forward: 3, matchLoss: 4, backward: 5, optimizer: 5 },
      share: { data: 0.05, sam: 0.1, forward: 0.15, matchLoss: 0.2, backward: 0.25, optimizer: 0.25 },
      totalMs: 20,
    },
    checkpoint: '/x/run/checkpoint.safetensors',
  };
  return {
    title: 'demo <test> & "report"',
    command: 'node bin/wish.js demo --out runs/demo --seed 3',
    dataset: { train: { images: 12, size: 64, seed: 3 }, val: { images: 4, seed: 1003, evaluated: 4 } },
    weak: {
      budget: 60,
      costs: { tag: 1, point: 6, box: 12 },
      mix: { tag: 0.1, point: 0.3, box: 0.6 },
      images: { tag: 6, point: 3, box: 3 },
      labels: { tag: 11, point: 8, box: 9 },
      cost: 60,
    },
    teacher: {
      checkpoint: 'models/teacher/teacher.safetensors',
      config: 'models/teacher/teacher.json',
      description: 'tiny',
      iou: { point: { labels: 8, meanIou: 0.5734 }, box: { labels: 9, meanIou: NaN } },
      views: [
        {
          name: '000004',
          kind: 'box',
          teacher: 'teacher/000004.png',
          truth: 'teacher/000004-truth.png',
          labels: 3,
        },
      ],
    },
    config: { file: 'configs/demo.json', model: 'cpu-small', settings: { iterations: 40 } },
    result,
    stageSeconds: { synth: 0.5, prepare: 1.5, train: 10, predict: 0.5 },
    curves: 'run/curves.png',
    overlays: [
      {
        name: '000000',
        predicted: 'predict/overlays/000000.png',
        truth: 'predict/truth/000000.png',
        instances: 2,
        truthInstances: 3,
      },
    ],
    scoreThreshold: 0.3,
    layout: ['report.html   this report'],
  };
}

async function folderWithImages(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wish-report-'));
  for (const f of [
    'run/curves.png',
    'teacher/000004.png',
    'teacher/000004-truth.png',
    'predict/overlays/000000.png',
    'predict/truth/000000.png',
  ]) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), 'png');
  }
  return dir;
}

test('formatStat: percent with 2 decimals; -1 (no ground truth in that range) as a dash', () => {
  assert.equal(formatStat(0.12345), '12.35');
  assert.equal(formatStat(0), '0.00');
  assert.equal(formatStat(-1), '&ndash;');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('the report holds every stat, links existing files relatively, escapes text', async () => {
  const dir = await folderWithImages();
  const file = path.join(dir, 'report.html');
  await writeReport(file, fakeData());
  const html = await readFile(file, 'utf8');
  for (const k of STAT_KEYS) {
    const cell = k === 'APl' ? '&ndash;' : (100 * stats[k]).toFixed(2);
    assert.match(html, new RegExp(`<td>${k}</td><td class="n">${cell}</td>`), k);
  }
  assert.match(html, /Mask AP <b>1\.12<\/b> \(AP50 2\.12, AP75 3\.12\)/);
  const srcs = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(srcs, [
    'teacher/000004.png',
    'teacher/000004-truth.png',
    'run/curves.png',
    'predict/overlays/000000.png',
    'predict/truth/000000.png',
  ]);
  // The teacher's mean IoU per kind (no box label scored: a dash).
  assert.match(html, /<td>point<\/td><td>8<\/td><td>0\.573<\/td>/);
  assert.match(html, /<td>box<\/td><td>9<\/td><td>&ndash;<\/td>/);
  for (const s of srcs) assert.ok((await stat(path.join(dir, s))).isFile(), s);
  assert.match(html, /<title>demo &lt;test&gt; &amp; &quot;report&quot;<\/title>/);
  assert.ok(html.includes('node bin/wish.js demo --out runs/demo --seed 3'));
  // The label table: per kind images, labels, cost; the budget line.
  assert.match(html, /<td>point<\/td><td>3<\/td><td>8<\/td><td>18<\/td>/);
  assert.match(html, /60 of 60/);
  // Stage seconds and their sum.
  assert.match(html, /<td>all<\/td><td>12\.5<\/td>/);
});

test('a linked image that does not exist is an error naming it, and nothing is written', async () => {
  const dir = await folderWithImages();
  const d = fakeData();
  d.overlays[0].truth = 'predict/truth/missing.png';
  const file = path.join(dir, 'report.html');
  await assert.rejects(writeReport(file, d), /predict\/truth\/missing\.png.*does not exist/);
  await assert.rejects(stat(file), { code: 'ENOENT' });
  d.overlays[0].truth = path.join(dir, 'predict/truth/000000.png');
  await assert.rejects(writeReport(file, d), /must be relative/);
});
