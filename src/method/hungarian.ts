// Minimum-cost bipartite assignment (Hungarian / Munkres) for rectangular cost matrices, through the
// maintained `munkres` package. Like scipy's linear_sum_assignment (what Mask2Former calls): with
// rows >= cols every column gets one row; pairs come back sorted by row.
import { munkres } from 'munkres';

export interface Assignment {
  /** Matched rows (queries), ascending. */
  rows: number[];
  /** cols[i] is the column (target) matched to rows[i]. */
  cols: number[];
}

/**
 * costs: row-major [rows, cols] values. Throws on a non-finite cost (a NaN would silently give an
 * arbitrary assignment), naming the entry.
 */
export function linearSumAssignment(
  costs: ArrayLike<number>,
  rows: number,
  cols: number,
  what = 'cost matrix',
): Assignment {
  if (costs.length !== rows * cols) {
    throw new Error(`${what}: ${costs.length} values for a ${rows}x${cols} matrix`);
  }
  if (rows === 0 || cols === 0) return { rows: [], cols: [] };
  const matrix: Float64Array[] = [];
  for (let i = 0; i < rows; i++) {
    const row = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const v = costs[i * cols + j];
      if (!Number.isFinite(v)) throw new Error(`${what}: entry [${i}, ${j}] is ${v}, not a finite number`);
      row[j] = v;
    }
    matrix.push(row);
  }
  const pairs = munkres(matrix).sort((a, b) => a[0] - b[0]);
  return { rows: pairs.map((p) => p[0]), cols: pairs.map((p) => p[1]) };
}
