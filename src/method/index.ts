// The WISH method (paper sections 4.2-4.3): matching, losses, tags to points, SAM mask targets.
export * from './config.ts';
export * from './types.ts';
export * from './point-sample.ts';
export * from './mask-loss.ts';
export * from './prompt-kl.ts';
export * from './sam-targets.ts';
export * from './hungarian.ts';
export * from './matcher.ts';
export * from './losses.ts';
export * from './tags-to-points.ts';
export * from './sam-teacher.ts';
