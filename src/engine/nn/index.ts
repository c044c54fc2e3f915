// Layers and the Module base (PyTorch's torch.nn, module side). Functional ops live in the engine core.
export { Module, type StateDict, type LoadResult } from './module.ts';
export { Linear, Identity, type LinearOptions } from './modules/linear.ts';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from './modules/conv.ts';
export {
  BatchNorm2d,
  FrozenBatchNorm2d,
  LayerNorm,
  LayerNorm2d,
  GroupNorm,
  type BatchNormOptions,
  type LayerNormOptions,
  type GroupNormOptions,
} from './modules/norm.ts';
export { Embedding, type EmbeddingOptions } from './modules/embedding.ts';
export {
  MultiheadAttention,
  type MultiheadAttentionOptions,
  type AttentionCallOptions,
} from './modules/attention.ts';
export { MLP, activate, type Activation, type MLPOptions } from './modules/mlp.ts';
export { Dropout } from './modules/dropout.ts';
export { Sequential, ModuleList, type Layer } from './modules/container.ts';
export * as init from './modules/init.ts';
