// Optimiser base: parameter groups with their own hyper-parameters, lazily created per-parameter state
// (only for parameters that have received a gradient, as PyTorch does), zeroGrad, and a state dict in the
// checkpoint layout of io/training-state.ts (parameters named by their model keys) for resuming.
import type { OptimizerState, ParamGroupState, Json } from '../io/training-state.ts';
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';

/** The addon entry points of native/src/optim.cpp (not in native.ts, which the core part owns). */
export interface OptimNative {
  optimGradMask(params: Tensor[]): boolean[];
  optimSgdStep(
    params: Tensor[],
    bufs: (Tensor | null)[] | null,
    bufReady: boolean[],
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    maximize: boolean,
  ): boolean[];
  optimAdamwStep(
    params: Tensor[],
    expAvgs: (Tensor | null)[],
    expAvgSqs: (Tensor | null)[],
    maxExpAvgSqs: (Tensor | null)[] | null,
    steps: number[],
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    amsgrad: boolean,
    maximize: boolean,
  ): boolean[];
}
export const NO = N as unknown as OptimNative;

/** A group as the user gives it: its parameters plus any hyper-parameters that override the defaults. */
export type ParamGroupSpec<H> = { params: Iterable<Tensor> } & Partial<H>;

/** A live group: its parameters and its (complete) hyper-parameters. `initialLr` is what schedules scale. */
export type ParamGroup<H> = { params: Tensor[]; initialLr: number } & H;

/** Per-parameter state: named slot tensors and the number of updates applied. */
export interface ParamState {
  step: number;
  slots: Record<string, Tensor>;
}

/** Names for parameters in a state dict: the model's named parameters (preferred) or a map. */
export type ParamNames = Iterable<[string, Tensor]> | Map<Tensor, string>;

function isTensorList(x: unknown): x is Tensor[] {
  return Array.isArray(x) && (x.length === 0 || !('params' in (x[0] as object)));
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[] = [];
  /** Per-parameter state, keyed by the parameter tensor. */
  protected readonly state = new Map<Tensor, ParamState>();
  /** Groups known to have state for every parameter (skips the gradient probe). */
  private readonly complete = new WeakSet<ParamGroup<H>>();

  protected constructor(
    /** 'AdamW', 'SGD': the type recorded in checkpoints. */
    readonly name: string,
    params: Iterable<Tensor> | ParamGroupSpec<H>[],
    readonly defaults: H,
  ) {
    const list = Array.isArray(params) ? params : [...params];
    const specs: ParamGroupSpec<H>[] = isTensorList(list)
      ? [{ params: list } as unknown as ParamGroupSpec<H>]
      : list;
    const seen = new Set<Tensor>();
    for (const [gi, spec] of specs.entries()) {
      const ps = [...spec.params];
      for (const p of ps) {
        if (seen.has(p))
          throw new Error(`${this.name}: a parameter appears in more than one group (group ${gi})`);
        seen.add(p);
      }
      const group = { ...defaults, ...spec, params: ps } as ParamGroup<H>;
      this.validate(group, gi);
      group.initialLr = group.lr;
      this.paramGroups.push(group);
    }
    if (seen.size === 0) throw new Error(`${this.name}: got an empty parameter list`);
  }

  /** Slot names this optimiser keeps per parameter (given a group's settings). */
  protected abstract slotNames(group: ParamGroup<H>): string[];
  /** Throws a clear error for a bad hyper-parameter. */
  protected abstract validate(group: ParamGroup<H>, index: number): void;
  /** Applies one update to the group's parameters that have gradients; returns which were updated. */
  protected abstract stepGroup(group: ParamGroup<H>, states: (ParamState | undefined)[]): boolean[];

  /** One optimisation step over every group (parameters without a gradient are left alone). */
  step(): void {
    for (const group of this.paramGroups) {
      this.ensureState(group);
      const states = group.params.map((p) => this.state.get(p));
      const updated = this.stepGroup(group, states);
      for (let i = 0; i < updated.length; i++) if (updated[i]) states[i]!.step += 1;
    }
  }

  /** Clears every parameter's gradient (setToNone frees it; false fills it with zeros, as PyTorch < 2). */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) N.zeroGrad(g.params, setToNone);
  }

  /** Sets every group's lr to initialLr * factor (what a schedule drives). */
  setLrFactor(factor: number): void {
    if (!Number.isFinite(factor) || factor < 0)
      throw new Error(`${this.name}: lr factor must be >= 0, got ${factor}`);
    for (const g of this.paramGroups) g.lr = g.initialLr * factor;
  }

  /** State slots for parameters that got a gradient since the last step (zeros, kept out of tidy scopes). */
  private ensureState(group: ParamGroup<H>): void {
    if (this.complete.has(group)) return;
    const has = NO.optimGradMask(group.params);
    const names = this.slotNames(group);
    let all = true;
    group.params.forEach((p, i) => {
      if (this.state.has(p)) return;
      if (!has[i]) {
        all = false;
        return;
      }
      const slots: Record<string, Tensor> = {};
      for (const s of names) slots[s] = N.keep(N.zerosLike(p));
      this.state.set(p, { step: 0, slots });
    });
    if (all) this.complete.add(group);
  }

  /** The state of one parameter (undefined before its first update). */
  stateOf(p: Tensor): Readonly<ParamState> | undefined {
    return this.state.get(p);
  }

  /**
   * State for a checkpoint, in io/training-state.ts's layout. Slot tensors are the optimiser's own (not
   * copies): write them out, do not dispose them. Without names, parameters are named by their index
   * across groups ("0", "1", ...) as PyTorch's state_dict does.
   */
  stateDict(names?: ParamNames): OptimizerState<Tensor> {
    const nameOf = this.namer(names);
    const groups: ParamGroupState[] = [];
    const step: Record<string, number> = {};
    const slots: Record<string, Record<string, Tensor>> = {};
    let index = 0;
    for (const g of this.paramGroups) {
      const keys: string[] = [];
      for (const p of g.params) {
        const key = nameOf(p, index++);
        keys.push(key);
        const st = this.state.get(p);
        if (st) {
          step[key] = st.step;
          slots[key] = { ...st.slots };
        }
      }
      groups.push({ params: keys, ...this.hyperToJson(g) });
    }
    return { type: this.name, groups, step, slots };
  }

  /**
   * Restores a state from stateDict() (names as given then). Group structure must match: the same number
   * of groups with the same parameter names; hyper-parameters (lr, weight decay, ...) are restored too.
   * Slot values are copied, so the source may be disposed afterwards.
   */
  loadStateDict(sd: OptimizerState<Tensor>, names?: ParamNames): void {
    const where = `${this.name}.loadStateDict`;
    if (sd.type !== this.name) throw new Error(`${where}: state is for ${sd.type}, not ${this.name}`);
    if (sd.groups.length !== this.paramGroups.length) {
      throw new Error(
        `${where}: state has ${sd.groups.length} parameter groups, optimiser has ${this.paramGroups.length}`,
      );
    }
    const nameOf = this.namer(names);
    const problems: string[] = [];
    let index = 0;
    const plan: [ParamGroup<H>, ParamGroupState, [Tensor, string][]][] = [];
    sd.groups.forEach((sg, gi) => {
      const g = this.paramGroups[gi];
      const keys = g.params.map((p) => [p, nameOf(p, index++)] as [Tensor, string]);
      const mine = keys.map(([, k]) => k).join(', ');
      if (sg.params.length !== keys.length || sg.params.some((k, i) => k !== keys[i][1])) {
        problems.push(`group ${gi}: state has parameters [${sg.params.join(', ')}], optimiser has [${mine}]`);
      }
      plan.push([g, sg, keys]);
    });
    for (const [g, , keys] of plan) {
      const want = this.slotNames(g);
      for (const [p, k] of keys) {
        const slots = sd.slots[k];
        if (!slots) continue;
        for (const s of want) {
          const t = slots[s];
          if (!t) problems.push(`"${k}": missing slot ${s}`);
          else if (N.shape(t).join('x') !== N.shape(p).join('x'))
            problems.push(`"${k}/${s}": shape [${N.shape(t)}] != parameter shape [${N.shape(p)}]`);
        }
      }
    }
    if (problems.length > 0)
      throw new Error(`${where}: state does not fit this optimiser:\n  ${problems.join('\n  ')}`);
    this.disposeState();
    for (const [g, sg, keys] of plan) {
      this.hyperFromJson(g, sg);
      const want = this.slotNames(g);
      for (const [p, k] of keys) {
        const slots = sd.slots[k];
        if (!slots) continue;
        const own: Record<string, Tensor> = {};
        for (const s of want) {
          const t = N.keep(N.zerosLike(p));
          N.copy_(t, slots[s]);
          own[s] = t;
        }
        this.state.set(p, { step: sd.step[k] ?? 0, slots: own });
      }
    }
  }

  /** Frees the state tensors (the optimiser can keep stepping; state restarts from zero). */
  disposeState(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.slots)) N.dispose(t);
    this.state.clear();
    for (const g of this.paramGroups) this.complete.delete(g);
  }

  dispose(): void {
    this.disposeState();
  }

  /** Group hyper-parameters as PyTorch names them in param_groups (snake_case). */
  protected abstract hyperToJson(g: ParamGroup<H>): Record<string, Json>;
  protected abstract hyperFromJson(g: ParamGroup<H>, j: ParamGroupState): void;

  private namer(names?: ParamNames): (p: Tensor, index: number) => string {
    if (!names) return (_p, i) => String(i);
    const map =
      names instanceof Map ? names : new Map([...names].map(([k, t]) => [t, k] as [Tensor, string]));
    return (p, i) => {
      const k = map.get(p);
      if (k === undefined) throw new Error(`${this.name}: parameter ${i} has no name in the names given`);
      return k;
    };
  }
}

export function checkNumber(
  opt: string,
  group: number,
  name: string,
  v: unknown,
  min = 0,
  max = Infinity,
): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new Error(`${opt}: group ${group}: ${name} must be a number ${range}, got ${String(v)}`);
  }
}

export function readNumber(j: ParamGroupState, key: string, fallback: number): number {
  const v = j[key];
  return typeof v === 'number' ? v : fallback;
}

export function readBool(j: ParamGroupState, key: string, fallback: boolean): boolean {
  const v = j[key];
  return typeof v === 'boolean' ? v : fallback;
}
