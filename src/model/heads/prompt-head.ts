// H_prompt of Eq. 10: predicts, for every query, the SAM prompt latent of the instance it stands for. A
// SAM prompt is two tokens of the prompt encoder's width Dp (a point plus SAM's padding token, or a box's
// two corners), so each label kind gets its own MLP to a [2, Dp] latent; the matcher and loss use the kind
// the image's label has (DESIGN section 4). Keys: point.layers.<i>.*, box.layers.<i>.*
import * as torch from '../../engine/index.ts';
import type { Tensor } from '../../engine/index.ts';
import { MLP, Module } from '../../engine/nn/index.ts';

export interface PromptLatents {
  /** [B, Q, 2, Dp] */
  point: Tensor;
  /** [B, Q, 2, Dp] */
  box: Tensor;
}

export class PromptHead extends Module {
  readonly point: MLP;
  readonly box: MLP;
  constructor(
    hiddenDim: number,
    readonly promptDim: number,
    numLayers = 3,
  ) {
    super();
    this.point = this.registerModule('point', new MLP(hiddenDim, hiddenDim, 2 * promptDim, numLayers));
    this.box = this.registerModule('box', new MLP(hiddenDim, hiddenDim, 2 * promptDim, numLayers));
  }
  /** queries [B, Q, hidden] -> { point, box } [B, Q, 2, Dp] */
  forward(queries: Tensor): PromptLatents {
    return torch.tidy(() => {
      const [b, q] = queries.shape;
      return {
        point: this.point.forward(queries).view(b, q, 2, this.promptDim),
        box: this.box.forward(queries).view(b, q, 2, this.promptDim),
      };
    });
  }
}
