// Builds a WishModel from a validated config by constructing each part and passing it in.
import { ResNet } from './backbone/resnet.ts';
import { SmallCnn } from './backbone/small-cnn.ts';
import type { Backbone } from './backbone/types.ts';
import { parseModelConfig, type ModelConfig } from './configs.ts';
import { CamHead } from './heads/cam-head.ts';
import { FpnPixelDecoder } from './pixel-decoder/fpn.ts';
import { MSDeformPixelDecoder } from './pixel-decoder/msdeform-pixel-decoder.ts';
import type { PixelDecoder } from './pixel-decoder/types.ts';
import { MaskedTransformerDecoder } from './transformer-decoder.ts';
import { WishModel } from './wish-model.ts';

export function buildBackbone(c: ModelConfig['backbone']): Backbone {
  if (c.kind === 'resnet') {
    return new ResNet({ depth: c.depth, baseWidth: c.baseWidth, norm: c.norm, freezeAt: c.freezeAt });
  }
  return new SmallCnn({ widths: c.widths, depth: c.depth });
}

export function buildPixelDecoder(c: ModelConfig['pixelDecoder'], backbone: Backbone): PixelDecoder {
  if (c.kind === 'msdeform') {
    return new MSDeformPixelDecoder({
      inputShapes: backbone.outputShapes,
      convDim: c.convDim,
      maskDim: c.maskDim,
      encoderLayers: c.encoderLayers,
      heads: c.heads,
      dimFeedforward: c.dimFeedforward,
      points: c.points,
    });
  }
  return new FpnPixelDecoder({ inputShapes: backbone.outputShapes, convDim: c.convDim, maskDim: c.maskDim });
}

/** A fresh model (random init; load ImageNet backbone weights separately with loadTorchvisionResNet). */
export function buildModel(config: unknown, source?: string): WishModel {
  const c = parseModelConfig(config, source);
  const backbone = buildBackbone(c.backbone);
  const pixelDecoder = buildPixelDecoder(c.pixelDecoder, backbone);
  const predictor = new MaskedTransformerDecoder({
    inChannels: pixelDecoder.convDim,
    numClasses: c.numClasses,
    hiddenDim: c.decoder.hiddenDim,
    numQueries: c.decoder.numQueries,
    nHeads: c.decoder.nHeads,
    dimFeedforward: c.decoder.dimFeedforward,
    decLayers: c.decoder.layers,
    maskDim: pixelDecoder.maskDim,
    promptDim: c.promptDim,
    headLayers: c.decoder.headLayers,
  });
  const camHead = new CamHead(backbone.outputShapes[c.camLevel].channels, c.numClasses);
  return new WishModel({ backbone, pixelDecoder, predictor, camHead, camLevel: c.camLevel });
}
