// The few numpy behaviours COCOeval's numbers depend on, reproduced so results agree to the last bit.

/** np.linspace(start, stop, num) with endpoint: i * step + start, the last value set to stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

const PW_BLOCK = 128; // numpy's PW_BLOCKSIZE

// numpy's pairwise summation of a[lo, lo+n): 8 running sums below the block size, halves above it.
function pairwise(a: ArrayLike<number>, lo: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[lo + i];
    return res;
  }
  if (n <= PW_BLOCK) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = a[lo + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[lo + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2);
}

/** np.mean of a contiguous 1-D float64 array: one pairwise sum over it all, then divided. */
export function npMean(a: ArrayLike<number>): number {
  return pairwise(a, 0, a.length) / a.length;
}

/** np.spacing(1): the gap between 1 and the next double, added to COCOeval's precision denominator. */
export const SPACING_1 = 2.220446049250313e-16;

/** Python's '{:0.3f}'.format(x): like toFixed(3) but exact ties round half to even. */
export function formatFixed3(x: number): string {
  const s = x.toFixed(3);
  const scaled = x * 1000;
  // A tie needs x*1000 to be exactly k + 0.5, which the multiplication preserves when it is exact.
  if (Math.abs(scaled) < 2 ** 52 && scaled - Math.trunc(scaled) === (scaled < 0 ? -0.5 : 0.5)) {
    const down = Math.trunc(scaled);
    const up = down + Math.sign(scaled);
    const even = down % 2 === 0 ? down : up;
    return (even / 1000).toFixed(3);
  }
  return s;
}
