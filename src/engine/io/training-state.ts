// The layout of a training checkpoint inside one safetensors file (documented in safetensors.ts):
// model tensors under their state-dict names, optimiser slots under `optim/<param>/<slot>`, and the
// scalars (param groups, per-parameter step counts, trainer state) as JSON strings in __metadata__.
// Generic over the tensor type so the same code packs RawTensors or engine Tensors.

export const CHECKPOINT_FORMAT = 'wish.checkpoint/1';
const OPTIM_PREFIX = 'optim/';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface ParamGroupState {
  /** Parameter names (state-dict keys) in the group, in optimiser order. */
  params: string[];
  /** lr, weight_decay, betas, eps, momentum, ...: whatever the optimiser keeps per group. */
  [hyper: string]: Json;
}

export interface OptimizerState<T> {
  /** e.g. 'AdamW', 'SGD'. */
  type: string;
  groups: ParamGroupState[];
  /** Per-parameter step counts (AdamW's bias correction). */
  step: Record<string, number>;
  /** param name -> slot name (exp_avg, exp_avg_sq, momentum_buffer) -> tensor. */
  slots: Record<string, Record<string, T>>;
}

export interface TrainingCheckpoint<T> {
  model: Record<string, T>;
  optim?: OptimizerState<T>;
  /** Trainer scalars: epoch, global step, seed, ... */
  train?: Json;
  /** Extra free-form metadata strings. */
  extra?: Record<string, string>;
}

export function packCheckpoint<T>(c: TrainingCheckpoint<T>): {
  tensors: Record<string, T>;
  metadata: Record<string, string>;
} {
  const tensors: Record<string, T> = {};
  for (const [k, t] of Object.entries(c.model)) {
    if (k.startsWith(OPTIM_PREFIX))
      throw new Error(`model key "${k}" collides with the optimiser prefix "${OPTIM_PREFIX}"`);
    tensors[k] = t;
  }
  const metadata: Record<string, string> = { ...c.extra, format: CHECKPOINT_FORMAT };
  if (c.optim) {
    const known = new Set(c.optim.groups.flatMap((g) => g.params));
    for (const [param, slots] of Object.entries(c.optim.slots)) {
      if (!known.has(param))
        throw new Error(`optimiser state for "${param}", which is in no parameter group`);
      for (const [slot, t] of Object.entries(slots)) {
        if (slot === '' || slot.includes('/'))
          throw new Error(`optimiser slot name "${slot}" must be non-empty without "/"`);
        tensors[`${OPTIM_PREFIX}${param}/${slot}`] = t;
      }
    }
    metadata.optim = JSON.stringify({ type: c.optim.type, groups: c.optim.groups, step: c.optim.step });
  }
  if (c.train !== undefined) metadata.train = JSON.stringify(c.train);
  return { tensors, metadata };
}

export function unpackCheckpoint<T>(
  tensors: Record<string, T>,
  metadata: Record<string, string>,
  file = '<checkpoint>',
): TrainingCheckpoint<T> {
  if (metadata.format !== undefined && metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${file}: checkpoint format "${metadata.format}" is not ${CHECKPOINT_FORMAT}`);
  }
  const parse = (key: string): Json => {
    try {
      return JSON.parse(metadata[key]) as Json;
    } catch (e) {
      throw new Error(`${file}: __metadata__.${key} is not valid JSON: ${(e as Error).message}`);
    }
  };
  const model: Record<string, T> = {};
  const slots: Record<string, Record<string, T>> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (!k.startsWith(OPTIM_PREFIX)) {
      model[k] = t;
      continue;
    }
    const cut = k.lastIndexOf('/');
    const param = k.slice(OPTIM_PREFIX.length, cut);
    if (cut < OPTIM_PREFIX.length || param === '')
      throw new Error(`${file}: tensor "${k}" is not optim/<param>/<slot>`);
    (slots[param] ??= {})[k.slice(cut + 1)] = t;
  }
  const out: TrainingCheckpoint<T> = { model };
  const { format: _f, optim: _o, train: _t, ...extra } = metadata;
  if (Object.keys(extra).length > 0) out.extra = extra;
  if (metadata.train !== undefined) out.train = parse('train');
  if (metadata.optim !== undefined) {
    const o = parse('optim') as { type?: unknown; groups?: unknown; step?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.type !== 'string' || !Array.isArray(o.groups)) {
      throw new Error(`${file}: __metadata__.optim needs {type: string, groups: [...]}`);
    }
    const groups = o.groups as ParamGroupState[];
    for (const [i, g] of groups.entries()) {
      if (!Array.isArray(g?.params) || !g.params.every((p) => typeof p === 'string')) {
        throw new Error(`${file}: __metadata__.optim group ${i} has no list of parameter names`);
      }
    }
    const known = new Set(groups.flatMap((g) => g.params));
    for (const p of Object.keys(slots)) {
      if (!known.has(p))
        throw new Error(`${file}: optimiser state for "${p}", which is in no parameter group`);
    }
    out.optim = { type: o.type, groups, step: (o.step ?? {}) as Record<string, number>, slots };
  } else if (Object.keys(slots).length > 0) {
    throw new Error(`${file}: optim/ tensors present but __metadata__.optim is missing`);
  }
  return out;
}
