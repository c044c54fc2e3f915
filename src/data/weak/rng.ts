// Seeded randomness for weaken: xoroshiro128+ from pure-rand (a small, well-known PRNG), with
// independent streams obtained by jumps rather than by ad-hoc seed arithmetic.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

export type Rng = JumpableRandomGenerator;

/** `streams` independent generators for one seed: stream k is the seed's generator jumped k times (2^64 steps each). */
export function seededStreams(seed: number, streams: number): Rng[] {
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got ${seed}`);
  const base = xoroshiro128plus(seed | 0);
  const out: Rng[] = [];
  for (let k = 0; k < streams; k++) {
    out.push(base.clone());
    base.jump();
  }
  return out;
}

/** Integer uniform in [lo, hi]. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return uniformInt(rng, lo, hi);
}

/** Fisher-Yates shuffle, in place. */
export function shuffle<T>(rng: Rng, a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = uniformInt(rng, 0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
