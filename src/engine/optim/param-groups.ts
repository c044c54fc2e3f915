// Building parameter groups from a model by rules, as detectron2 / Mask2Former do: e.g. the backbone at
// 0.1x the base lr, no weight decay on normalisation layers and embeddings.
import { Module } from '../nn/module.ts';
import { BatchNorm2d, FrozenBatchNorm2d, GroupNorm, LayerNorm, LayerNorm2d } from '../nn/modules/norm.ts';
import { Embedding } from '../nn/modules/embedding.ts';
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';

export interface GroupRule {
  /** name: the parameter's dotted state-dict key; owner: the module that registered it. */
  match: (name: string, param: Tensor, owner: Module) => boolean;
  /** Multiplies the base lr (e.g. 0.1 for a pretrained backbone). */
  lrMult?: number;
  /** Replaces the base weight decay (e.g. 0 for norms). */
  weightDecay?: number;
}

/** True for layers whose parameters are usually exempt from weight decay. */
export function isNormOrEmbedding(owner: Module): boolean {
  return (
    owner instanceof BatchNorm2d ||
    owner instanceof FrozenBatchNorm2d ||
    owner instanceof LayerNorm ||
    owner instanceof LayerNorm2d ||
    owner instanceof GroupNorm ||
    owner instanceof Embedding
  );
}

/**
 * Groups for an optimiser: [{ params, lr, weightDecay }], one per distinct (lr, weightDecay). Rules are
 * tried in order, and a parameter takes the settings of EVERY matching rule (later ones win on conflicts),
 * so "backbone x0.1" and "norms: no decay" combine. Frozen parameters (requiresGrad false) are left out.
 */
export function paramGroups(
  model: Module,
  base: { lr: number; weightDecay: number },
  rules: GroupRule[] = [],
): { params: Tensor[]; lr: number; weightDecay: number }[] {
  const groups = new Map<string, { params: Tensor[]; lr: number; weightDecay: number }>();
  const seen = new Set<Tensor>();
  for (const [prefix, owner] of model.namedModules()) {
    for (const [own, p] of owner.namedParameters('', false)) {
      if (seen.has(p) || !N.requiresGrad(p)) continue;
      seen.add(p);
      const name = prefix === '' ? own : `${prefix}.${own}`;
      let lr = base.lr;
      let weightDecay = base.weightDecay;
      for (const r of rules) {
        if (!r.match(name, p, owner)) continue;
        if (r.lrMult !== undefined) lr = base.lr * r.lrMult;
        if (r.weightDecay !== undefined) weightDecay = r.weightDecay;
      }
      const key = `${lr}/${weightDecay}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { params: [], lr, weightDecay }));
      g.params.push(p);
    }
  }
  return [...groups.values()];
}
