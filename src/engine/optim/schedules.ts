// Learning-rate schedules as pure functions: iteration (0-based) -> factor applied to each group's base lr.
// Semantics follow detectron2's WarmupPolyLR / WarmupCosineLR (the schedulers Mask2Former trains with): the
// warm-up factor MULTIPLIES the decay factor, it does not replace it.

/** iteration -> multiplier of the base learning rate. */
export type LrSchedule = (iter: number) => number;

export interface WarmupOptions {
  /** Iterations of linear warm-up; 0 disables it. */
  warmupIters?: number;
  /** Factor at iteration 0; rises linearly to 1 at `warmupIters`. */
  warmupFactor?: number;
}

export interface PolyOptions extends WarmupOptions {
  maxIters: number;
  /** Exponent of (1 - iter / maxIters); Mask2Former uses 0.9. */
  power?: number;
  /** Once past warm-up, the factor never falls below this (detectron2's constant_ending); 0 = off. */
  constantEnding?: number;
}

export interface CosineOptions extends WarmupOptions {
  maxIters: number;
  /** Factor reached at `maxIters` (0 = decay to zero). */
  finalFactor?: number;
}

export type ScheduleConfig =
  | ({ kind: 'poly' } & PolyOptions)
  | ({ kind: 'cosine' } & CosineOptions)
  | ({ kind: 'constant' } & WarmupOptions);

function checkIter(iter: number): void {
  if (!Number.isInteger(iter) || iter < 0)
    throw new Error(`lr schedule: iteration must be an integer >= 0, got ${iter}`);
}

function checkWarmup(o: WarmupOptions): { warmupIters: number; warmupFactor: number } {
  const warmupIters = o.warmupIters ?? 0;
  const warmupFactor = o.warmupFactor ?? 0.001;
  if (!Number.isInteger(warmupIters) || warmupIters < 0)
    throw new Error(`lr schedule: warmupIters must be an integer >= 0, got ${warmupIters}`);
  if (!(warmupFactor >= 0 && warmupFactor <= 1))
    throw new Error(`lr schedule: warmupFactor must be in [0, 1], got ${warmupFactor}`);
  return { warmupIters, warmupFactor };
}

function checkMaxIters(maxIters: number): void {
  if (!Number.isInteger(maxIters) || maxIters <= 0)
    throw new Error(`lr schedule: maxIters must be a positive integer, got ${maxIters}`);
}

/** Linear warm-up factor: warmupFactor at iter 0, 1 from iter >= warmupIters. */
export function linearWarmupFactor(iter: number, warmupIters: number, warmupFactor: number): number {
  if (iter >= warmupIters) return 1;
  const alpha = iter / warmupIters;
  return warmupFactor * (1 - alpha) + alpha;
}

/** Constant lr, optionally after a linear warm-up. */
export function constantSchedule(o: WarmupOptions = {}): LrSchedule {
  const { warmupIters, warmupFactor } = checkWarmup(o);
  return (iter) => {
    checkIter(iter);
    return linearWarmupFactor(iter, warmupIters, warmupFactor);
  };
}

/** Warm-up then polynomial decay: warmup(iter) * (1 - iter / maxIters) ^ power; 0 from maxIters on. */
export function polySchedule(o: PolyOptions): LrSchedule {
  const { warmupIters, warmupFactor } = checkWarmup(o);
  checkMaxIters(o.maxIters);
  const power = o.power ?? 0.9;
  const constantEnding = o.constantEnding ?? 0;
  if (!(power > 0)) throw new Error(`lr schedule: power must be > 0, got ${power}`);
  if (!(constantEnding >= 0 && constantEnding <= 1))
    throw new Error(`lr schedule: constantEnding must be in [0, 1], got ${constantEnding}`);
  return (iter) => {
    checkIter(iter);
    const w = linearWarmupFactor(iter, warmupIters, warmupFactor);
    const decay = Math.pow(1 - Math.min(iter, o.maxIters) / o.maxIters, power);
    if (constantEnding > 0 && w === 1 && decay < constantEnding) return constantEnding;
    return w * decay;
  };
}

/** Warm-up then half-cosine from 1 down to finalFactor at maxIters (held there afterwards). */
export function cosineSchedule(o: CosineOptions): LrSchedule {
  const { warmupIters, warmupFactor } = checkWarmup(o);
  checkMaxIters(o.maxIters);
  const finalFactor = o.finalFactor ?? 0;
  if (!(finalFactor >= 0 && finalFactor <= 1))
    throw new Error(`lr schedule: finalFactor must be in [0, 1], got ${finalFactor}`);
  return (iter) => {
    checkIter(iter);
    const t = Math.min(iter, o.maxIters) / o.maxIters;
    const cos = finalFactor + (1 - finalFactor) * 0.5 * (1 + Math.cos(Math.PI * t));
    return linearWarmupFactor(iter, warmupIters, warmupFactor) * cos;
  };
}

/** Builds a schedule from a plain config object (as found in a run config). */
export function makeSchedule(config: ScheduleConfig): LrSchedule {
  switch (config.kind) {
    case 'poly':
      return polySchedule(config);
    case 'cosine':
      return cosineSchedule(config);
    case 'constant':
      return constantSchedule(config);
    default:
      throw new Error(`lr schedule: unknown kind ${JSON.stringify((config as { kind: unknown }).kind)}`);
  }
}
