// Process-wide engine settings: threads, seeding, CUDA. Intra-op threads are set to every core when the
// addon loads (native.ts; WISH_NUM_THREADS overrides).
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
  /** Waits for the device's queued work, like torch.cuda.synchronize (timings); a no-op without CUDA. */
  synchronize: (index = 0): void => N.cudaSynchronize(index),
};
/** Linked libtorch version and build facts. */
export const backendInfo = (): { torch: string; cxx11Abi: boolean; parallel: string } => N.version();
