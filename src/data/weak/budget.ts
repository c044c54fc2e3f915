// The paper's budget protocol (section 5.3, Eq. 21): N_t*b_t + N_p*b_p + N_b*b_b <= zeta, with costs
// b_t:b_p:b_b = 1:6:12 and zeta = 10,582 (tags on every PASCAL VOC train_aug image).

export const LABEL_KINDS = ['tag', 'point', 'box'] as const;
export type BudgetKind = (typeof LABEL_KINDS)[number];

export interface Costs {
  tag: number;
  point: number;
  box: number;
}

/** How many images get each kind, and what that costs. */
export interface Combination {
  tag: number;
  point: number;
  box: number;
  cost: number;
}

export const PAPER_COSTS: Costs = { tag: 1, point: 6, box: 12 };
export const PAPER_BUDGET = 10582;

export function costOf(counts: Omit<Combination, 'cost'>, costs: Costs): number {
  return counts.tag * costs.tag + counts.point * costs.point + counts.box * costs.box;
}

function combination(counts: Omit<Combination, 'cost'>, costs: Costs): Combination {
  return { ...counts, cost: costOf(counts, costs) };
}

/** Parses "1,6,12" into costs; every cost must be a positive finite number. */
export function parseCosts(text: string): Costs {
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length !== 3 || nums.some((n, i) => parts[i] === '' || !Number.isFinite(n) || n <= 0))
    throw new Error(`--costs must be three positive numbers tag,point,box (e.g. 1,6,12), got "${text}"`);
  return { tag: nums[0], point: nums[1], box: nums[2] };
}

export function parsePair(text: string): [BudgetKind, BudgetKind] {
  const [a, b, extra] = text.split('-');
  const ok = (k: string | undefined): k is BudgetKind => (LABEL_KINDS as readonly string[]).includes(k ?? '');
  if (extra !== undefined || !ok(a) || !ok(b) || a === b)
    throw new Error(
      `--pair must be two different kinds joined by "-" (tag-point, tag-box, point-box), got "${text}"`,
    );
  return [a, b];
}

export function checkBudget(budget: number): void {
  if (!Number.isInteger(budget) || budget <= 0)
    throw new Error(`the budget must be a positive integer, got ${budget}`);
}

export interface PlanOptions {
  /**
   * Budget moves between the two kinds in grains of this many units (default: the point cost).
   * One grain for every pair puts the rows of all pairs on one grid, so that step i has the same
   * number of tag images in the tag-point and the tag-box rows, as in the paper's Table 3.
   */
  grain?: number;
  /**
   * 'round' (default): the two homogeneous endpoints label round(zeta / cost) images, as the paper
   * does (1,764 points, 882 boxes: 10,584, over zeta by 2; in general over by less than cost/2).
   * 'floor': floor(zeta / cost), never over the budget.
   */
  endpoints?: 'round' | 'floor';
}

/**
 * The K combinations on the line from "all kind A" (step 0) to "all kind B" (step K-1), the rows of
 * Table 3. Rule, for 0 < i < K-1: the share s_i = grain * round(i/(K-1) * zeta / grain) of the budget
 * (clamped to [0, zeta]) buys floor(s_i / cost_B) images of kind B, the rest floor((zeta - s_i) / cost_A)
 * of kind A; these rows never exceed zeta. With zeta 10,582, costs 1:6:12 and K = 5 this gives
 * Table 3 exactly: tags 10,582 / 7,936 / 5,290 / 2,644 / 0 against 0 / 441 / 882 / 1,323 / 1,764
 * points or 0 / 220 / 441 / 661 / 882 boxes.
 */
export function planPair(
  budget: number,
  costs: Costs,
  pair: [BudgetKind, BudgetKind],
  steps: number,
  opts: PlanOptions = {},
): Combination[] {
  checkBudget(budget);
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`--steps must be an integer >= 2, got ${steps}`);
  const grain = opts.grain ?? costs.point;
  if (!Number.isFinite(grain) || grain <= 0)
    throw new Error(`the grain must be a positive number, got ${grain}`);
  const [a, b] = pair;
  const endpoint = (c: number) =>
    opts.endpoints === 'floor' ? Math.floor(budget / c) : Math.round(budget / c);
  const rows: Combination[] = [];
  for (let i = 0; i < steps; i++) {
    const counts = { tag: 0, point: 0, box: 0 };
    if (i === 0) counts[a] = endpoint(costs[a]);
    else if (i === steps - 1) counts[b] = endpoint(costs[b]);
    else {
      const share = Math.min(budget, Math.max(0, grain * Math.round(((i / (steps - 1)) * budget) / grain)));
      counts[b] = Math.floor(share / costs[b]);
      counts[a] = Math.floor((budget - share) / costs[a]);
    }
    rows.push(combination(counts, costs));
  }
  return rows;
}

export type Mix = Partial<Record<BudgetKind, number>>;

/** Parses "tag=0.5,point=0.25,box=0.25": fractions of the budget per kind, summing to at most 1. */
export function parseMix(text: string): Mix {
  const mix: Mix = {};
  for (const part of text.split(',')) {
    const m = /^\s*(tag|point|box)\s*=\s*([0-9.eE+-]+)\s*$/.exec(part);
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v) || v < 0 || v > 1)
      throw new Error(
        `--mix must look like tag=0.5,point=0.25,box=0.25 (fractions in [0,1]); bad part "${part}"`,
      );
    if (m[1] in mix) throw new Error(`--mix names "${m[1]}" twice`);
    mix[m[1] as BudgetKind] = v;
  }
  const sum = (mix.tag ?? 0) + (mix.point ?? 0) + (mix.box ?? 0);
  if (sum > 1 + 1e-9) throw new Error(`--mix fractions sum to ${sum}, more than the whole budget`);
  return mix;
}

/**
 * Counts from budget fractions: floor(fraction * zeta / cost) images per kind, so Eq. 21 holds with
 * at most one image's cost per kind left unspent.
 */
export function countsFromMix(budget: number, costs: Costs, mix: Mix): Combination {
  checkBudget(budget);
  const n = (k: BudgetKind) => Math.floor(((mix[k] ?? 0) * budget) / costs[k] + 1e-9);
  return combination({ tag: n('tag'), point: n('point'), box: n('box') }, costs);
}
