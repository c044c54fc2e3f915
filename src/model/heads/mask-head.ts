// H_mask of Eq. 8: a 3-layer MLP projects each query to the mask-feature width, and the mask is its dot
// product with the per-pixel embeddings S_L at every pixel. Keys: layers.<i>.* (Mask2Former's mask_embed).
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { MLP } from '../../engine/nn/index.ts';

export class MaskHead extends MLP {
  constructor(hiddenDim: number, maskDim: number, numLayers = 3) {
    super(hiddenDim, hiddenDim, maskDim, numLayers);
  }
  /** queries [B, Q, hidden], maskFeatures [B, maskDim, H, W] -> mask logits [B, Q, H, W] */
  predict(queries: Tensor, maskFeatures: Tensor): Tensor {
    return torch.tidy(() => torch.einsum('bqc,bchw->bqhw', this.forward(queries), maskFeatures));
  }
}
