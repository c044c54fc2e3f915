// Process-wide engine settings: threads, seeding, CUDA. Intra-op threads default to every core at load
// (libtorch's own default is half the cores; DESIGN.md section 2 measured 138 -> 84 ms per ResNet step).
import { availableParallelism } from 'node:os';

import { N } from './native.ts';

export const setNumThreads = (n: number): void => N.setNumThreads(n);
export const getNumThreads = (): number => N.getNumThreads();
/** Seeds the default CPU (and CUDA) generators, like torch.manual_seed. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  N.manualSeed(seed);
}
export const cuda = {
  isAvailable: (): boolean => N.cudaIsAvailable(),
  deviceCount: (): number => N.cudaDeviceCount(),
};
/** Linked libtorch version and build facts. */
export const backendInfo = (): { torch: string; cxx11Abi: boolean; parallel: string } => N.version();

const envThreads = Number(process.env.WISH_NUM_THREADS);
setNumThreads(Number.isInteger(envThreads) && envThreads > 0 ? envThreads : availableParallelism());
