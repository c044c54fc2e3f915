// Augmentation: frame maps (the exact geometry), warps that apply them, Mask2Former-style random plans.
export * from './frame-map.ts';
export * from './warp.ts';
export * from './random.ts';
export * from './pipeline.ts';
