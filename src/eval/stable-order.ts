// Stable descending order of scores without a comparator callback (np.argsort(-s, kind='mergesort')).
// A comparator-based sort calls back into JavaScript for every comparison, which dominates cold runs;
// here the native numeric sort finds the distinct values and a counting pass places items stably.

/** Indices of `s` ordered by descending value; equal values keep their original order. */
export function stableOrderDesc(s: Float64Array): Uint32Array {
  const n = s.length;
  const order = new Uint32Array(n);
  if (n === 0) return order;
  const asc = s.slice().sort(); // native ascending sort of the values
  // Start slot of each distinct value in descending order (-0 and 0 are one value, as in numpy).
  const start = new Map<number, number>();
  for (let j = n - 1, slot = 0; j >= 0; j--, slot++) {
    if (j === n - 1 || asc[j] !== asc[j + 1]) start.set(asc[j], slot);
  }
  for (let i = 0; i < n; i++) {
    const slot = start.get(s[i])!;
    order[slot] = i;
    start.set(s[i], slot + 1);
  }
  return order;
}
