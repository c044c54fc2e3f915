// Prompt latent distance (Eq. 12): KL(softmax(Z) || softmax(Z_hat)) over each token's channels, summed
// over the two tokens of a SAM prompt (a point plus SAM's padding token, or a box's two corners), as
// DESIGN.md section 4 reads the paper. Z is the target latent from SAM's prompt encoder, Z_hat the
// prediction of the prompt head (Eq. 10).
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';

function checkLatents(name: string, t: Tensor): void {
  if (t.ndim !== 3) throw new Error(`${name} must be [N, tokens, channels], got [${t.shape.join(', ')}]`);
}

/**
 * All-pairs prompt cost. pred [Q, K, D], target [T, K, D] -> [Q, T] with
 * cost[q, t] = sum_k sum_c p_tkc (log p_tkc - log q_qkc), p = softmax(target), q = softmax(pred).
 * The cross term is one matmul over the flattened K * D channels.
 */
export function pairwisePromptKl(pred: Tensor, target: Tensor): Tensor {
  checkLatents('pairwisePromptKl pred', pred);
  checkLatents('pairwisePromptKl target', target);
  if (pred.shape[1] !== target.shape[1] || pred.shape[2] !== target.shape[2]) {
    throw new Error(
      `pairwisePromptKl: pred [${pred.shape.join(', ')}] and target [${target.shape.join(', ')}] differ in tokens or channels`,
    );
  }
  return torch.tidy(() => pairwisePromptKlFromLogProbs(pred.logSoftmax(-1).flatten(1), target));
}

/**
 * pairwisePromptKl with the prediction's log-softmax already taken and flattened: logQ [Q, K*D]
 * (computed once per layer for every image), target [T, K, D] -> [Q, T].
 */
export function pairwisePromptKlFromLogProbs(logQ: Tensor, target: Tensor): Tensor {
  checkLatents('pairwisePromptKl target', target);
  if (logQ.ndim !== 2 || logQ.shape[1] !== target.shape[1] * target.shape[2]) {
    throw new Error(
      `pairwisePromptKl: predicted log-probabilities [${logQ.shape.join(', ')}] do not fit target [${target.shape.join(', ')}]`,
    );
  }
  return torch.tidy(() => {
    const logP = target.float().logSoftmax(-1).flatten(1); // [T, K*D]
    const p = logP.exp();
    const negEntropy = p.mul(logP).sum(1); // [T]: sum p log p
    return negEntropy.unsqueeze(0).sub(logQ.matmul(p.t())); // [Q, T]
  });
}

/** Per-pair prompt KL: pred [M, K, D], target [M, K, D] -> [M] (summed over tokens and channels). */
export function promptKl(pred: Tensor, target: Tensor): Tensor {
  checkLatents('promptKl pred', pred);
  checkLatents('promptKl target', target);
  return torch.tidy(() => {
    const logP = target.logSoftmax(-1);
    const logQ = pred.logSoftmax(-1);
    return logP.exp().mul(logP.sub(logQ)).sum([1, 2]);
  });
}
