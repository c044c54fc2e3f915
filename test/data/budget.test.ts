import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  PAPER_BUDGET,
  PAPER_COSTS,
  costOf,
  countsFromMix,
  parseCosts,
  parseMix,
  parsePair,
  planPair,
  type BudgetKind,
} from '../../src/data/weak/budget.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

describe('budget plan (paper Table 3)', () => {
  it('gives the tag-point row of Table 3', () => {
    const rows = planPair(PAPER_BUDGET, PAPER_COSTS, ['tag', 'point'], 5);
    assert.deepEqual(
      rows.map((r) => [r.tag, r.point, r.box]),
      [
        [10582, 0, 0],
        [7936, 441, 0],
        [5290, 882, 0],
        [2644, 1323, 0],
        [0, 1764, 0],
      ],
    );
    assert.deepEqual(
      rows.map((r) => r.cost),
      [10582, 10582, 10582, 10582, 10584],
    );
  });

  it('gives the tag-box row of Table 3', () => {
    const rows = planPair(PAPER_BUDGET, PAPER_COSTS, ['tag', 'box'], 5);
    assert.deepEqual(
      rows.map((r) => [r.tag, r.point, r.box]),
      [
        [10582, 0, 0],
        [7936, 0, 220],
        [5290, 0, 441],
        [2644, 0, 661],
        [0, 0, 882],
      ],
    );
    // 7,936 + 220*12 = 10,576: the paper's tag-box row leaves 6 units unspent at steps 1 and 3.
    assert.deepEqual(
      rows.map((r) => r.cost),
      [10582, 10576, 10582, 10576, 10584],
    );
  });

  it("gives the paper's homogeneous extremes and, with floor endpoints, stays within budget", () => {
    const pb = planPair(PAPER_BUDGET, PAPER_COSTS, ['point', 'box'], 3);
    assert.deepEqual([pb[0].point, pb[2].box], [1764, 882]);
    // middle: share 6*round(5291/6) = 5292 -> 441 boxes, (10582-5292)/6 = 881.67 -> 881 points
    assert.deepEqual([pb[1].point, pb[1].box, pb[1].cost], [881, 441, 10578]);
    const fl = planPair(PAPER_BUDGET, PAPER_COSTS, ['point', 'box'], 3, { endpoints: 'floor' });
    assert.deepEqual([fl[0].point, fl[2].box], [1763, 881]);
  });

  it('never exceeds the budget except by an endpoint rounding (< cost/2); counts move monotonically', () => {
    const kinds: [BudgetKind, BudgetKind][] = [
      ['tag', 'point'],
      ['tag', 'box'],
      ['point', 'box'],
      ['box', 'tag'],
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 80 }),
        fc.integer({ min: 2, max: 12 }),
        fc.constantFrom(...kinds),
        fc.constantFrom<'round' | 'floor'>('round', 'floor'),
        (zeta, t, p, b, steps, pair, endpoints) => {
          const costs = { tag: t, point: p, box: b };
          const rows = planPair(zeta, costs, pair, steps, { endpoints });
          assert.equal(rows.length, steps);
          rows.forEach((r, i) => {
            assert.equal(r.cost, costOf(r, costs));
            const end = i === 0 || i === steps - 1;
            const c = costs[i === 0 ? pair[0] : pair[1]];
            if (end && endpoints === 'round')
              assert.ok(r.cost - zeta <= c / 2, `row ${i} over by ${r.cost - zeta}`);
            else assert.ok(r.cost <= zeta, `row ${i} costs ${r.cost} > ${zeta}`);
            if (i > 0) {
              assert.ok(r[pair[1]] >= rows[i - 1][pair[1]]);
              assert.ok(r[pair[0]] <= rows[i - 1][pair[0]]);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses bad arguments with a message', () => {
    assert.throws(() => parseCosts('1,6'), /--costs must be three positive numbers/);
    assert.throws(() => parseCosts('1,-6,12'), /--costs/);
    assert.throws(() => parsePair('tag-tag'), /--pair must be two different kinds/);
    assert.throws(() => parsePair('tag-mask'), /--pair/);
    assert.throws(() => planPair(100, PAPER_COSTS, ['tag', 'box'], 1), /--steps must be an integer >= 2/);
    assert.throws(() => planPair(-3, PAPER_COSTS, ['tag', 'box'], 3), /budget must be a positive integer/);
  });
});

describe('budget mix', () => {
  it('turns budget fractions into counts that satisfy Eq. 21', () => {
    const c = countsFromMix(PAPER_BUDGET, PAPER_COSTS, parseMix('tag=0.5,point=0.25,box=0.25'));
    // 5291 tags, floor(2645.5/6) = 440 points, floor(2645.5/12) = 220 boxes
    assert.deepEqual(c, { tag: 5291, point: 440, box: 220, cost: 5291 + 2640 + 2640 });
    assert.ok(c.cost <= PAPER_BUDGET);
    assert.throws(() => parseMix('tag=0.7,box=0.4'), /sum to 1.1/);
    assert.throws(() => parseMix('tag=2'), /bad part "tag=2"/);
    assert.throws(() => parseMix('mask=0.5'), /bad part/);
  });
});

describe('wish budget plan (CLI)', () => {
  it('prints a table and, with --json, the rows as the last line', () => {
    const out = execFileSync(
      process.execPath,
      [
        'bin/wish.js',
        'budget',
        'plan',
        '--budget',
        '10582',
        '--costs',
        '1,6,12',
        '--pair',
        'tag-box',
        '--steps',
        '5',
        '--json',
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    const lines = out.trim().split('\n');
    assert.match(out, /7,936\s+0\s+220/);
    assert.deepEqual(JSON.parse(lines.at(-1)!), planPair(PAPER_BUDGET, PAPER_COSTS, ['tag', 'box'], 5));
  });
});
