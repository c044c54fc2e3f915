// Matrix products, as torch.* functions.
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';

/** Batched, broadcasting matrix product (torch.matmul). */
export const matmul = (a: Tensor, b: Tensor): Tensor => N.matmul(a, b);
/** [n, m] @ [m, p] */
export const mm = (a: Tensor, b: Tensor): Tensor => N.mm(a, b);
/** [b, n, m] @ [b, m, p] */
export const bmm = (a: Tensor, b: Tensor): Tensor => N.bmm(a, b);
export const outer = (a: Tensor, b: Tensor): Tensor => N.outer(a, b);
/** einsum('bqc,bkc->bqk', q, k) */
export const einsum = (equation: string, ...tensors: Tensor[]): Tensor => N.einsum(equation, tensors);
/** beta * input + alpha * (b1 @ b2), batched. */
export const baddbmm = (input: Tensor, b1: Tensor, b2: Tensor, beta = 1, alpha = 1): Tensor =>
  N.baddbmm(input, b1, b2, beta, alpha);
/** Pairwise p-norm distances between the rows of x1 [.., P, D] and x2 [.., R, D] -> [.., P, R]. */
export const cdist = (x1: Tensor, x2: Tensor, p = 2): Tensor => N.cdist(x1, x2, p);
