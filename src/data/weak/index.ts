// Weak-label datasets: format, loading/validation, the budget protocol and `weaken`.
export * from './types.ts';
export { loadWeakDataset, writeWeakDataset, type LoadWeakOptions } from './load.ts';
export { validateWeak } from './validate.ts';
export * from './budget.ts';
