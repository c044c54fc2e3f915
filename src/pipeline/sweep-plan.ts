// The plan of a budget sweep (paper section 5.3, Table 3): the rows of every requested pair exactly as
// `wish budget plan` lists them, and the distinct label mixes behind them. A mix is one training run:
// the all-box endpoint of tag-box and of point-box is the same mix, so it is trained once and shared.
import {
  planPair,
  type BudgetKind,
  type Combination,
  type Costs,
  type PlanOptions,
} from '../data/weak/budget.ts';

export type Pair = [BudgetKind, BudgetKind];

/** One row of a pair's sweep: a label mix, its step along the pair, and the point (training run) it is. */
export interface SweepRow extends Combination {
  step: number;
  /** The point's name (see pointName); rows of different pairs with the same counts share it. */
  name: string;
}

export interface PairPlan {
  /** "tag-box" etc., as given. */
  pair: string;
  rows: SweepRow[];
}

/** A distinct label mix: one weak-label dataset and one training run. */
export interface SweepPoint extends Combination {
  name: string;
}

export interface SweepPlan {
  budget: number;
  costs: Costs;
  steps: number;
  pairs: PairPlan[];
  /** Distinct mixes in the order they are first met (pair by pair, step by step). */
  points: SweepPoint[];
}

/** Folder-safe, unique per mix: t<tags>-p<points>-b<boxes>. */
export function pointName(c: { tag: number; point: number; box: number }): string {
  return `t${c.tag}-p${c.point}-b${c.box}`;
}

export function pairName(p: Pair): string {
  return `${p[0]}-${p[1]}`;
}

export function planSweep(
  budget: number,
  costs: Costs,
  pairs: Pair[],
  steps: number,
  opts: PlanOptions = {},
): SweepPlan {
  if (pairs.length === 0) throw new Error('--pairs: give at least one pair (tag-point, tag-box, point-box)');
  const seen = new Set<string>();
  const points = new Map<string, SweepPoint>();
  const plans: PairPlan[] = [];
  for (const p of pairs) {
    const key = [...p].sort().join('-');
    if (seen.has(key)) throw new Error(`--pairs names the pair ${pairName(p)} twice`);
    seen.add(key);
    const rows = planPair(budget, costs, p, steps, opts).map((c, step) => ({
      ...c,
      step,
      name: pointName(c),
    }));
    for (const r of rows)
      if (!points.has(r.name))
        points.set(r.name, { name: r.name, tag: r.tag, point: r.point, box: r.box, cost: r.cost });
    plans.push({ pair: pairName(p), rows });
  }
  return { budget, costs, steps, pairs: plans, points: [...points.values()] };
}

/** The share of the budget a row spends on its pair's second kind: the x axis of the plot. */
export function secondKindShare(row: Combination, pair: string, budget: number, costs: Costs): number {
  const b = pair.split('-')[1] as BudgetKind;
  return (row[b] * costs[b]) / budget;
}
