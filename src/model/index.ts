// The WISH student model: parts, builder, configs and inference.
export {
  FEATURE_NAMES,
  Backbone,
  type FeatureName,
  type Features,
  type FeatureSpec,
  type FeatureSpecs,
} from './backbone/types.ts';
export {
  ResNet,
  loadTorchvisionResNet,
  loadTorchvisionResNetFile,
  type ResNetOptions,
  type ResNetDepth,
  type NormKind,
} from './backbone/resnet.ts';
export { SmallCnn, type SmallCnnOptions } from './backbone/small-cnn.ts';
export { PixelDecoder, type PixelDecoderOutput } from './pixel-decoder/types.ts';
export {
  MSDeformPixelDecoder,
  type MSDeformPixelDecoderOptions,
} from './pixel-decoder/msdeform-pixel-decoder.ts';
export { FpnPixelDecoder, type FpnPixelDecoderOptions } from './pixel-decoder/fpn.ts';
export {
  MSDeformAttn,
  msDeformAttnCore,
  encoderReferencePoints,
  type SpatialShapes,
} from './pixel-decoder/ms-deform-attn.ts';
export {
  MaskedTransformerDecoder,
  type LayerPrediction,
  type TransformerDecoderOptions,
} from './transformer-decoder.ts';
export { ClassHead } from './heads/class-head.ts';
export { MaskHead } from './heads/mask-head.ts';
export { PromptHead, type PromptLatents } from './heads/prompt-head.ts';
export { CamHead, type CamOutput } from './heads/cam-head.ts';
export { WishModel, type WishOutput } from './wish-model.ts';
export { buildModel, buildBackbone, buildPixelDecoder } from './build.ts';
export {
  MODEL_CONFIGS,
  paper,
  cpuSmall,
  modelConfigSchema,
  parseModelConfig,
  type ModelConfig,
  type ModelConfigInput,
} from './configs.ts';
export {
  instanceInference,
  predictInstances,
  toCocoResults,
  maskBox,
  type Instance,
  type ImageFrame,
  type InferenceOptions,
  type CocoResult,
} from './inference.ts';
export { normalizeImages, PIXEL_MEAN, PIXEL_STD } from './normalize.ts';
export { sinePositionEncoding } from './position-encoding.ts';
