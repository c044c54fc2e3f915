// The sweep's results as the paper's Table 3 (per pair: the counts of each kind, the cost, mask AP,
// AP50, AP75), in Markdown and JSON, and the verdict the table is read for: does a mix beat both
// homogeneous endpoints at (about) equal cost?
import type { Costs } from '../data/weak/budget.ts';
import { secondKindShare, type SweepPlan } from './sweep-plan.ts';
import type { PointRecord } from './sweep-state.ts';

export interface TableRow {
  step: number;
  name: string;
  tag: number;
  point: number;
  box: number;
  cost: number;
  /** Fraction of the budget spent on the pair's second kind (the plot's x). */
  share: number;
  status: PointRecord['status'];
  /** Mask AP (segm) in [0, 1] as COCOeval gives it; null until the point is done. */
  AP: number | null;
  AP50: number | null;
  AP75: number | null;
}

export interface PairVerdict {
  pair: string;
  /** 'beats': the best mix is above both endpoints; 'does-not-beat'; 'incomplete': points missing; 'no-mix': steps 2. */
  outcome: 'beats' | 'does-not-beat' | 'incomplete' | 'no-mix';
  best?: { step: number; name: string; AP: number };
  first?: { name: string; AP: number };
  last?: { name: string; AP: number };
  /** best.AP - endpoint AP (AP in [0, 1]). */
  overFirst?: number;
  overLast?: number;
  text: string;
}

export interface SweepTable {
  budget: number;
  costs: Costs;
  steps: number;
  pairs: { pair: string; rows: TableRow[]; verdict: PairVerdict }[];
}

function stat(rec: PointRecord | undefined, key: string): number | null {
  if (rec?.status !== 'done' || !rec.result) return null;
  const v = rec.result.stats[key];
  // COCOeval reports -1 where there is no ground truth in the area range.
  return typeof v === 'number' && v >= 0 ? v : null;
}

export function buildSweepTable(plan: SweepPlan, points: Record<string, PointRecord>): SweepTable {
  return {
    budget: plan.budget,
    costs: plan.costs,
    steps: plan.steps,
    pairs: plan.pairs.map((pp) => {
      const rows: TableRow[] = pp.rows.map((r) => {
        const rec = points[r.name];
        return {
          step: r.step,
          name: r.name,
          tag: r.tag,
          point: r.point,
          box: r.box,
          cost: r.cost,
          share: secondKindShare(r, pp.pair, plan.budget, plan.costs),
          status: rec?.status ?? 'pending',
          AP: stat(rec, 'AP'),
          AP50: stat(rec, 'AP50'),
          AP75: stat(rec, 'AP75'),
        };
      });
      return { pair: pp.pair, rows, verdict: verdictOf(pp.pair, rows) };
    }),
  };
}

const pct = (v: number): string => (100 * v).toFixed(2);
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(2)}`;

/** Compares the best interior row (a real mix) with the two homogeneous endpoints. */
export function verdictOf(pair: string, rows: TableRow[]): PairVerdict {
  const [a, b] = pair.split('-');
  if (rows.length < 3)
    return { pair, outcome: 'no-mix', text: `${pair}: no mixed point (--steps ${rows.length})` };
  if (rows.some((r) => r.AP === null)) {
    const done = rows.filter((r) => r.AP !== null).length;
    return {
      pair,
      outcome: 'incomplete',
      text: `${pair}: ${done}/${rows.length} points done, no verdict yet`,
    };
  }
  const ap = (r: TableRow): number => r.AP!;
  const first = rows[0];
  const last = rows[rows.length - 1];
  let best = rows[1];
  for (const r of rows.slice(1, -1)) if (ap(r) > ap(best)) best = r;
  const overFirst = ap(best) - ap(first);
  const overLast = ap(best) - ap(last);
  const beats = overFirst > 0 && overLast > 0;
  const mix = `${mixText(best)}, step ${best.step}`;
  const text = beats
    ? `${pair}: YES, the best mix (${mix}) has AP ${pct(ap(best))}, above all-${a} (${pct(ap(first))}) by ` +
      `${signed(overFirst)} and all-${b} (${pct(ap(last))}) by ${signed(overLast)} AP points`
    : `${pair}: NO, the best mix (${mix}) has AP ${pct(ap(best))}: ${signed(overFirst)} against all-${a} ` +
      `(${pct(ap(first))}), ${signed(overLast)} against all-${b} (${pct(ap(last))}) AP points`;
  return {
    pair,
    outcome: beats ? 'beats' : 'does-not-beat',
    best: { step: best.step, name: best.name, AP: ap(best) },
    first: { name: first.name, AP: ap(first) },
    last: { name: last.name, AP: ap(last) },
    overFirst,
    overLast,
    text,
  };
}

function mixText(r: { tag: number; point: number; box: number }): string {
  const parts = (['tag', 'point', 'box'] as const).filter((k) => r[k] > 0).map((k) => `${r[k]} ${k}`);
  return parts.length ? parts.join(' + ') : 'no labels';
}

/** Markdown in the layout of the paper's Table 3; AP in percent; the best AP of each pair in bold. */
export function sweepTableMarkdown(t: SweepTable, caption: string[] = []): string {
  const c = t.costs;
  const out = [
    `# Budget sweep: budget ${t.budget.toLocaleString('en-US')}, costs tag:point:box = ${c.tag}:${c.point}:${c.box}`,
    '',
    ...caption.map((l) => `${l}  `),
    ...(caption.length ? [''] : []),
  ];
  for (const p of t.pairs) {
    const best = Math.max(...p.rows.map((r) => r.AP ?? -Infinity));
    const cell = (v: number | null, bold: boolean): string => {
      if (v === null) return '-';
      return bold ? `**${pct(v)}**` : pct(v);
    };
    out.push(`## ${p.pair}`, '');
    out.push('| step | tag | point | box | cost | AP | AP50 | AP75 |');
    out.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of p.rows) {
      const isBest = r.AP !== null && r.AP === best;
      const n = (v: number): string => v.toLocaleString('en-US');
      const status = r.status === 'done' ? '' : ` (${r.status})`;
      out.push(
        `| ${r.step}${status} | ${n(r.tag)} | ${n(r.point)} | ${n(r.box)} | ${n(r.cost)} | ` +
          `${cell(r.AP, isBest)} | ${cell(r.AP50, false)} | ${cell(r.AP75, false)} |`,
      );
    }
    out.push('', p.verdict.text, '');
  }
  return out.join('\n');
}
