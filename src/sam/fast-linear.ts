// A Linear whose large CPU products run as a 1x1 convolution (oneDNN) instead of libtorch's BLAS GEMM.
//
// Why: the linked libtorch's addmm goes through the system BLAS, which on these machines is Debian's
// *reference* libblas3 (/etc/alternatives/libblas.so.3 -> blas/libblas.so.3): ~1 GFLOPS measured for a
// [4096 x 768] x [768 x 2304] product, against ~45-55 GFLOPS for the same product as a 1x1 conv2d,
// which libtorch hands to oneDNN. A [rows, C] matrix viewed as [n, rows/n, 1, C] and permuted to
// [n, C, rows/n, 1] is a channels-last image batch, so the conv reads it in place and its channels-last
// output permutes back to [rows, out] without copies. n = 16 where it divides rows: libtorch 1.13 sends a
// 1x1 conv of batch < 16 to its own im2col + BLAS path when it runs on one thread. Same keys and values as Linear (it is one); results agree
// to float32 rounding. Remove once the engine's linear() avoids the reference BLAS (or OpenBLAS is linked).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { Linear } from '../engine/nn/index.ts';

/** Below this many rows the plain GEMM is as fast (and the conv's set-up cost dominates). */
const MIN_ROWS = 128;

export class FastLinear extends Linear {
  /** x: (*, in) -> (*, out) */
  override forward(x: Tensor): Tensor {
    const rows = x.numel() / this.inFeatures;
    if (rows < MIN_ROWS || x.device !== 'cpu' || x.dtype !== 'float32') return super.forward(x);
    return torch.tidy(() => {
      const C = this.inFeatures;
      const O = this.outFeatures;
      const n = rows % 16 === 0 ? 16 : 1;
      const img = x.reshape(n, rows / n, 1, C).permute(0, 3, 1, 2); // [n, C, rows/n, 1], channels-last strides
      const y = torch.conv2d(img, this.weight.view(O, C, 1, 1), this.bias); // [n, O, rows/n, 1]
      return y.permute(0, 2, 3, 1).reshape(...x.shape.slice(0, -1), O);
    });
  }
}
