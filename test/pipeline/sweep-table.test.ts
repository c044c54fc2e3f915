// The sweep's table, verdict and plot on hand-made records: numbers a reader can check by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { planSweep, secondKindShare } from '../../src/pipeline/sweep-plan.ts';
import { niceMax, sweepPlotSvg } from '../../src/pipeline/sweep-plot.ts';
import type { PointRecord } from '../../src/pipeline/sweep-state.ts';
import {
  buildSweepTable,
  sweepTableMarkdown,
  verdictOf,
  type TableRow,
} from '../../src/pipeline/sweep-table.ts';

const costs = { tag: 1, point: 6, box: 12 };

function rows(aps: (number | null)[]): TableRow[] {
  return aps.map((AP, step) => ({
    step,
    name: `s${step}`,
    tag: 10 - 5 * step,
    point: 0,
    box: step,
    cost: 10,
    share: step / 2,
    status: AP === null ? 'pending' : 'done',
    AP,
    AP50: AP,
    AP75: AP,
  }));
}

describe('verdictOf', () => {
  test('a mix above both endpoints: margins are best minus each endpoint', () => {
    const v = verdictOf('tag-box', rows([0.1, 0.3, 0.25, 0.2]));
    assert.equal(v.outcome, 'beats');
    assert.equal(v.best?.step, 1);
    assert.ok(Math.abs(v.overFirst! - 0.2) < 1e-12 && Math.abs(v.overLast! - 0.1) < 1e-12);
    assert.match(
      v.text,
      /^tag-box: YES, .* above all-tag \(10\.00\) by \+20\.00 and all-box \(20\.00\) by \+10\.00/,
    );
  });

  test('a mix below one endpoint, or only equal to it, does not beat it', () => {
    const below = verdictOf('tag-box', rows([0.1, 0.15, 0.2]));
    assert.equal(below.outcome, 'does-not-beat');
    assert.match(
      below.text,
      /NO, .* AP 15\.00: \+5\.00 against all-tag \(10\.00\), -5\.00 against all-box \(20\.00\)/,
    );
    assert.equal(verdictOf('tag-box', rows([0.1, 0.2, 0.2])).outcome, 'does-not-beat');
  });

  test('no verdict while points are missing, none without a mixed point', () => {
    assert.equal(verdictOf('tag-box', rows([0.1, null, 0.2])).outcome, 'incomplete');
    assert.equal(verdictOf('point-box', rows([0.1, 0.2])).outcome, 'no-mix');
  });
});

describe('buildSweepTable', () => {
  const plan = planSweep(120, costs, [['tag', 'box']], 3);
  const rec = (name: string, status: PointRecord['status'], stats?: Record<string, number>): PointRecord => ({
    ...plan.points.find((p) => p.name === name)!,
    status,
    dir: `points/${name}`,
    ...(stats ? { result: { stats, iterations: 5, seconds: 1, checkpoint: 'c' } } : {}),
  });

  test('AP from done points only; COCOeval -1 (no ground truth) shows as missing; share of the budget on boxes', () => {
    const t = buildSweepTable(plan, {
      't120-p0-b0': rec('t120-p0-b0', 'done', { AP: 0.012, AP50: 0.05, AP75: -1 }),
      't60-p0-b5': rec('t60-p0-b5', 'running'),
    });
    const r = t.pairs[0].rows;
    assert.deepEqual(
      r.map((x) => [x.status, x.AP, x.AP50, x.AP75]),
      [
        ['done', 0.012, 0.05, null],
        ['running', null, null, null],
        ['pending', null, null, null],
      ],
    );
    // 5 boxes * 12 = 60 of 120; 10 boxes * 12 = 120 of 120.
    assert.deepEqual(
      r.map((x) => x.share),
      [0, 0.5, 1],
    );
    assert.equal(secondKindShare({ tag: 0, point: 20, box: 0, cost: 120 }, 'tag-point', 120, costs), 1);
    const md = sweepTableMarkdown(t, ['caption line']);
    assert.match(md, /^# Budget sweep: budget 120, costs tag:point:box = 1:6:12\n\ncaption line {2}\n/);
    assert.match(md, /\| 0 \| 120 \| 0 \| 0 \| 120 \| \*\*1\.20\*\* \| 5\.00 \| - \|/);
    assert.match(md, /\| 1 \(running\) \| 60 \| 0 \| 5 \| 120 \| - \| - \| - \|/);
  });
});

describe('sweep plot', () => {
  test('niceMax rounds up to 1, 2, 2.5 or 5 times a power of ten', () => {
    assert.deepEqual([0, 0.7, 1.3, 2.2, 4, 7, 12, 26].map(niceMax), [1, 1, 2, 2.5, 5, 10, 20, 50]);
  });

  test('one line per pair through its done points, markers at each; renders to a PNG', async () => {
    const plan = planSweep(
      120,
      costs,
      [
        ['tag', 'box'],
        ['point', 'box'],
      ],
      3,
    );
    const done = (name: string, AP: number): PointRecord => ({
      ...plan.points.find((p) => p.name === name)!,
      status: 'done',
      dir: name,
      result: { stats: { AP, AP50: AP, AP75: AP }, iterations: 1, seconds: 1, checkpoint: 'c' },
    });
    const t = buildSweepTable(plan, {
      't120-p0-b0': done('t120-p0-b0', 0.01),
      't60-p0-b5': done('t60-p0-b5', 0.03),
      't0-p0-b10': done('t0-p0-b10', 0.02),
      't0-p20-b0': done('t0-p20-b0', 0.015),
    });
    const svg = sweepPlotSvg(t);
    // tag-box: 3 points (a line); point-box: 2 of 3 done (all-box shared, p10-b5 missing): a line of 2.
    assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
    assert.equal((svg.match(/<circle/g) ?? []).length, 5);
    assert.match(svg, />tag-box</);
    assert.match(svg, />point-box</);
    // AP axis: max 3% * 1.05 -> 5; the tag-box mix at x = 0.5 of the 480 px wide panel starting at 80.
    assert.match(svg, /<circle cx="320\.0" cy="186\.0" r="4" fill="#d62728"\/>/);
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [760, 480]);
  });
});
