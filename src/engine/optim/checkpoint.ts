// Optimiser state to and from safetensors, in the training-checkpoint layout of io/training-state.ts
// (optim/<param>/<slot> tensors + the groups and step counts as JSON metadata). The trainer can put the
// model's tensors in the same file: pass them as `model`.
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { packCheckpoint, unpackCheckpoint, type OptimizerState } from '../io/training-state.ts';
import type { RawTensor } from '../io/raw.ts';
import { dtypeCode, dtypeFromCode } from '../dtype.ts';
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';
import type { Optimizer, ParamNames } from './optimizer.ts';

/** A tensor's bytes as a RawTensor (a copy, on the CPU). */
export function toRaw(t: Tensor): RawTensor {
  return { dtype: dtypeFromCode(N.dtype(t)), shape: N.shape(t), data: new Uint8Array(N.toBytes(t)) };
}

/** A new CPU tensor holding a RawTensor's values. */
export function fromRaw(r: RawTensor): Tensor {
  return N.fromBytes(r.data, dtypeCode(r.dtype), r.shape);
}

/** Converts an optimiser state's slot tensors to RawTensors (for packCheckpoint / writeSafetensors). */
export function optimizerStateToRaw(s: OptimizerState<Tensor>): OptimizerState<RawTensor> {
  const slots: Record<string, Record<string, RawTensor>> = {};
  for (const [p, byName] of Object.entries(s.slots)) {
    slots[p] = Object.fromEntries(Object.entries(byName).map(([k, t]) => [k, toRaw(t)]));
  }
  return { ...s, slots };
}

/** Writes the optimiser's state (and optionally model tensors) to one safetensors file, atomically. */
export async function saveOptimizer(
  path: string,
  opt: Optimizer<{ lr: number }>,
  names?: ParamNames,
  model: Record<string, Tensor> = {},
): Promise<void> {
  const rawModel = Object.fromEntries(Object.entries(model).map(([k, t]) => [k, toRaw(t)]));
  const { tensors, metadata } = packCheckpoint({
    model: rawModel,
    optim: optimizerStateToRaw(opt.stateDict(names)),
  });
  await writeSafetensors(path, tensors, metadata);
}

/** Restores an optimiser's state from a file written by saveOptimizer (names as given then). */
export async function loadOptimizer(
  path: string,
  opt: Optimizer<{ lr: number }>,
  names?: ParamNames,
): Promise<void> {
  const { tensors, metadata } = await readSafetensors(path);
  const ck = unpackCheckpoint(tensors, metadata, path);
  if (!ck.optim)
    throw new Error(`${path}: no optimiser state in this checkpoint (__metadata__.optim is missing)`);
  const made: Tensor[] = [];
  try {
    const slots: Record<string, Record<string, Tensor>> = {};
    for (const [p, byName] of Object.entries(ck.optim.slots)) {
      slots[p] = {};
      for (const [k, r] of Object.entries(byName)) made.push((slots[p][k] = fromRaw(r)));
    }
    try {
      opt.loadStateDict({ ...ck.optim, slots }, names);
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
    }
  } finally {
    for (const t of made) N.dispose(t);
  }
}
