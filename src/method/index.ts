// The WISH method (paper sections 4.2-4.3): matching (Eq. 11-14), losses (Eq. 15, 17, 19, 20), tags to
// points (Eq. 18), SAM mask targets. How a trainer uses it, per iteration:
//   1. per image, its targets: classes, prompt latents (SAM prompt encoder, [T, 2, Dp], kind 'point' or
//      'box'), mask targets: FrameMaskTargets over SAM's masks in the ORIGINAL frame ([T, 3, H, W], made
//      once per image, e.g. samOriginalFrameLogits(...) > 0 when SAM runs) and the augmentation's
//      FrameMap (cheap: one grid_sample per read); SamMaskTargets reads the cached low-res logits through
//      SAM's exact postprocess chain instead (no full-size maps, but ~10x dearer per read); full masks in
//      the augmented frame: DenseMaskTargets. Tag images: tagsToPoints(CAMs, tags, frame) with a
//      SamPointTeacher gives point labels plus SAM's outputs for them.
//   2. wishLoss(modelOutput, targets, config, { iteration, generator }) -> { total, terms, matches }.
export * from './config.ts';
export * from './types.ts';
export * from './point-sample.ts';
export * from './mask-loss.ts';
export * from './prompt-kl.ts';
export * from './sam-targets.ts';
export * from './batch-targets.ts';
export * from './hungarian.ts';
export * from './matcher.ts';
export * from './losses.ts';
export * from './tags-to-points.ts';
export * from './sam-teacher.ts';
