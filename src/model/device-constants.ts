// Constant tensors the model reads at every forward (position tables, reference points, normalisers), made
// once per key and device and kept. Built inside the forward they would be uploaded at every call, and on a
// GPU a host-to-device copy from ordinary memory first waits for all queued work: the forward would stall
// at each one. Callers must not modify or dispose what this returns.
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';

const cache = new Map<string, Tensor>();

/** The tensor `make(device)` builds for `key` on `device`, built on the first call only (shared, read-only). */
export function deviceConstant(key: string, device: string, make: (device: string) => Tensor): Tensor {
  const k = `${key}@${torch.canonicalDevice(device)}`;
  let t = cache.get(k);
  if (!t) {
    t = torch.noGrad(() => torch.tidy(() => make(device))).keep();
    cache.set(k, t);
  }
  return t;
}
