// H_cls of Eq. 8: a linear layer from query features to C + 1 logits, the last one "no object".
import type { Tensor } from '../../engine/index.ts';
import { Linear } from '../../engine/nn/index.ts';

export class ClassHead extends Linear {
  constructor(
    hiddenDim: number,
    readonly numClasses: number,
  ) {
    super(hiddenDim, numClasses + 1);
  }
  /** queries [B, Q, hidden] -> logits [B, Q, C + 1] */
  override forward(queries: Tensor): Tensor {
    return super.forward(queries);
  }
}
