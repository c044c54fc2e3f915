// Optimisers (one native call per parameter group per step) and learning-rate schedules.
export {
  Optimizer,
  type ParamGroup,
  type ParamGroupSpec,
  type ParamState,
  type ParamNames,
} from './optimizer.ts';
export { AdamW, ADAMW_DEFAULTS, type AdamWOptions } from './adamw.ts';
export { SGD, SGD_DEFAULTS, type SGDOptions } from './sgd.ts';
export { LrScheduler, type HasLrFactor } from './lr-scheduler.ts';
export { paramGroups, isNormOrEmbedding, type GroupRule } from './param-groups.ts';
export {
  constantSchedule,
  cosineSchedule,
  polySchedule,
  makeSchedule,
  linearWarmupFactor,
  type LrSchedule,
  type ScheduleConfig,
  type PolyOptions,
  type CosineOptions,
  type WarmupOptions,
} from './schedules.ts';
