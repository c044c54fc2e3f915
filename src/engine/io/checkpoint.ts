// Checkpoints as engine Tensors: thin adapters between the byte-level readers/writers in this folder
// and the engine's fromBuffer / toBuffer. Tensors returned here belong to the caller (dispose them,
// or create them inside a tidy() scope and keep() what survives).

import { fromBuffer, type Tensor } from '../index.ts';
import type { DType, RawTensor } from './raw.ts';
import { loadPthStateDict, type StateDictOptions } from './pth.ts';
import { SafetensorsFile, writeSafetensorsFrom, type TensorSource } from './safetensors.ts';
import { packCheckpoint, unpackCheckpoint, type TrainingCheckpoint } from './training-state.ts';

export interface LoadOptions {
  /** Where the tensors go: 'cpu' (default) or 'cuda'. */
  device?: string;
  /** Convert floating-point tensors to this dtype on load (e.g. a float16 checkpoint into float32). */
  floatDtype?: DType;
  /** Cumulative and total bytes, for a progress bar. */
  onProgress?: (bytes: number, total: number) => void;
}

const isFloat = (d: DType) => d === 'float32' || d === 'float64' || d === 'float16' || d === 'bfloat16';

function toTensor(t: RawTensor, opts: LoadOptions): Tensor {
  const dtype = opts.floatDtype && isFloat(t.dtype) ? opts.floatDtype : undefined;
  return fromBuffer(t.data, t.dtype, t.shape, { device: opts.device, dtype });
}

function source(t: Tensor): TensorSource {
  // toBuffer gives C-order bytes whatever the tensor's strides or device; fetched only when written.
  return { dtype: t.dtype, shape: t.shape, bytes: () => t.toBuffer() };
}

/** Saves tensors (and string metadata) to a safetensors file, atomically. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  const sources: Record<string, TensorSource> = {};
  for (const [k, t] of Object.entries(tensors)) sources[k] = source(t);
  await writeSafetensorsFrom(path, sources, metadata, onProgress);
}

/** Loads every tensor of a safetensors file, one at a time (peak extra memory: one tensor's bytes). */
export async function loadSafetensorsWithMetadata(
  path: string,
  opts: LoadOptions = {},
): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  const f = await SafetensorsFile.open(path);
  const tensors: Record<string, Tensor> = {};
  try {
    const names = f.keys();
    const total = names.reduce((s, k) => s + f.info(k).end - f.info(k).start, 0);
    let done = 0;
    for (const name of names) {
      const raw = await f.read(name);
      tensors[name] = toTensor(raw, opts);
      done += raw.data.byteLength;
      opts.onProgress?.(done, total);
    }
    return { tensors, metadata: { ...f.metadata } };
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  } finally {
    await f.close();
  }
}

export async function loadSafetensors(path: string, opts: LoadOptions = {}): Promise<Record<string, Tensor>> {
  return (await loadSafetensorsWithMetadata(path, opts)).tensors;
}

/** Loads a PyTorch .pth state dict (see loadPthStateDict for how the dict is found). */
export async function loadPth(
  path: string,
  opts: LoadOptions & Pick<StateDictOptions, 'key'> = {},
): Promise<Record<string, Tensor>> {
  const raw = await loadPthStateDict(path, { key: opts.key, onProgress: opts.onProgress });
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(raw)) out[k] = toTensor(t, opts);
  return out;
}

/** Saves model weights, optimiser state and trainer scalars in one safetensors file (layout: training-state.ts). */
export async function saveTrainingCheckpoint(
  path: string,
  ckpt: TrainingCheckpoint<Tensor>,
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  const { tensors, metadata } = packCheckpoint(ckpt);
  await saveSafetensors(path, tensors, metadata, onProgress);
}

export async function loadTrainingCheckpoint(
  path: string,
  opts: LoadOptions = {},
): Promise<TrainingCheckpoint<Tensor>> {
  const { tensors, metadata } = await loadSafetensorsWithMetadata(path, opts);
  try {
    return unpackCheckpoint(tensors, metadata, path);
  } catch (e) {
    for (const t of Object.values(tensors)) t.dispose();
    throw e;
  }
}
