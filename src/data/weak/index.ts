// Weak-label datasets: format, loading/validation, the budget protocol and `weaken`.
export * from './types.ts';
export { loadWeakDataset, writeWeakDataset, type LoadWeakOptions } from './load.ts';
export { validateWeak } from './validate.ts';
export * from './budget.ts';
export {
  weaken,
  type WeakenCounts,
  type WeakenOptions,
  type WeakenResult,
  type WeakenSummaryRow,
} from './weaken.ts';
export { pointInMask, POINT_STRATEGIES, type PointStrategy } from './points.ts';
export { seededStreams, shuffle, type Rng } from './rng.ts';
export { formatTable } from './table.ts';
