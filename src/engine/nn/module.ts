// Module: the base of every layer and model. Parameters, buffers and child modules are registered
// explicitly (no property scanning), under the names PyTorch uses, so state-dict keys are the dotted paths
// of an official checkpoint ("layer1.0.conv1.weight") and load 1:1.
//
// Memory: registered tensors are kept out of tidy() scopes and live until dispose(). A module's tensors
// are its own; stateDict() hands out those same tensors (not copies).
import { DTYPES, dtypeCode, dtypeFromCode, isFloatingPoint, type DType } from '../dtype.ts';
import { N } from '../native.ts';
import type { Tensor } from '../tensor.ts';

/** A state dict: dotted key -> tensor, in PyTorch's order. */
export type StateDict = Record<string, Tensor>;

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

interface BufferEntry {
  tensor: Tensor;
  persistent: boolean;
}

export class Module {
  /** Train mode (dropout active, batch norm uses batch statistics and updates its running ones). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffs = new Map<string, BufferEntry>();
  private readonly children_ = new Map<string, Module>();

  // ---- registration ----------------------------------------------------------------------------------

  /** Adds a trainable tensor under `name` (requiresGrad set, kept out of tidy scopes) and returns it. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.checkName(name);
    N.keep(t);
    N.setRequiresGrad(t, true);
    this.params.set(name, t);
    return t;
  }

  /** Adds a non-trainable tensor (running statistics, fixed tables). Non-persistent ones stay out of stateDict. */
  protected registerBuffer(name: string, t: Tensor, opts: { persistent?: boolean } = {}): Tensor {
    this.checkName(name);
    N.keep(t);
    this.buffs.set(name, { tensor: t, persistent: opts.persistent ?? true });
    return t;
  }

  /** Adds a child module; its state-dict keys are prefixed with `name.`. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.checkName(name);
    if (!(m instanceof Module)) throw new TypeError(`registerModule('${name}'): not a Module`);
    this.children_.set(name, m);
    return m;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.'))
      throw new Error(`${this.constructor.name}: bad member name '${name}'`);
    if (this.params.has(name) || this.buffs.has(name) || this.children_.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  /** A registered parameter or buffer by its own (undotted) name. */
  protected tensorNamed(name: string): Tensor {
    const t = this.params.get(name) ?? this.buffs.get(name)?.tensor;
    if (!t) throw new Error(`${this.constructor.name}: no parameter or buffer '${name}'`);
    return t;
  }

  // ---- traversal -------------------------------------------------------------------------------------

  /** (name, module) for the direct children, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children_];
  }
  children(): Module[] {
    return [...this.children_.values()];
  }

  /** This module ('' or prefix) and every descendant, depth first, each once. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, p: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([p, m]);
      for (const [n, c] of m.children_) walk(c, p === '' ? n : `${p}.${n}`);
    };
    walk(this, prefix);
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** (dotted name, parameter), shared parameters listed once, in PyTorch's order. */
  namedParameters(prefix = '', recurse = true): [string, Tensor][] {
    return this.collect(prefix, recurse, (m) => [...m.params]);
  }
  parameters(recurse = true): Tensor[] {
    return this.namedParameters('', recurse).map(([, t]) => t);
  }
  namedBuffers(prefix = '', recurse = true): [string, Tensor][] {
    return this.collect(prefix, recurse, (m) =>
      [...m.buffs].map(([n, b]) => [n, b.tensor] as [string, Tensor]),
    );
  }
  buffers(recurse = true): Tensor[] {
    return this.namedBuffers('', recurse).map(([, t]) => t);
  }

  private collect(
    prefix: string,
    recurse: boolean,
    own: (m: Module) => [string, Tensor][],
  ): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [n, t] of own(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([p === '' ? n : `${p}.${n}`, t]);
      }
    }
    return out;
  }

  /** The descendant at a dotted path ('' is this module). */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module | undefined;
    for (const part of path.split('.')) {
      m = (m ?? this).children_.get(part);
      if (!m) throw new Error(`${this.constructor.name}: no submodule '${path}' ('${part}' not found)`);
    }
    return m!;
  }

  /** Calls fn on every module (children first, then this one), like nn.Module.apply. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children_.values()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Number of parameter elements (trainable only with onlyTrainable). */
  numParameters(onlyTrainable = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!onlyTrainable || N.requiresGrad(p)) n += N.numel(p);
    return n;
  }

  // ---- modes and devices -----------------------------------------------------------------------------

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Freezes (false) or unfreezes (true) every parameter. */
  requiresGrad_(flag = true): this {
    for (const p of this.parameters()) N.setRequiresGrad(p, flag);
    return this;
  }

  /** Clears the gradients of every parameter (setToNone frees them). */
  zeroGrad(setToNone = true): void {
    N.zeroGrad(this.parameters(), setToNone);
  }

  /**
   * Moves / casts every parameter and buffer (floating-point ones only for a dtype, as PyTorch). The
   * tensors are replaced, so create optimisers after calling this. Fields that held the old tensor (e.g.
   * `this.weight`) are updated.
   */
  to(target: string | { device?: string; dtype?: DType }): this {
    const spec: { device?: string; dtype?: DType } =
      typeof target === 'string'
        ? (DTYPES as readonly string[]).includes(target)
          ? { dtype: target as DType }
          : { device: target }
        : target;
    for (const m of this.modules()) {
      const move = (t: Tensor): Tensor => {
        const cast = spec.dtype !== undefined && isFloatingPoint(dtypeFromCode(N.dtype(t)));
        return N.to(t, cast ? dtypeCode(spec.dtype!) : undefined, spec.device, false);
      };
      for (const [name, t] of m.params) {
        const moved = N.keep(N.detach(move(t)));
        N.setRequiresGrad(moved, N.requiresGrad(t));
        m.params.set(name, moved);
        m.replaceField(t, moved);
        N.dispose(t);
      }
      for (const [name, b] of m.buffs) {
        const moved = N.keep(move(b.tensor));
        m.buffs.set(name, { tensor: moved, persistent: b.persistent });
        m.replaceField(b.tensor, moved);
        N.dispose(b.tensor);
      }
    }
    return this;
  }

  private replaceField(old: Tensor, now: Tensor): void {
    const self = this as unknown as Record<string, unknown>;
    for (const k of Object.keys(self)) if (self[k] === old) self[k] = now;
  }

  // ---- state dicts -----------------------------------------------------------------------------------

  /**
   * Parameters and persistent buffers under their dotted names (the module's own tensors, not copies).
   * As in PyTorch, a module or tensor reachable under two names appears under both.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    const walk = (m: Module, p: string, path: Set<Module>): void => {
      if (path.has(m)) throw new Error(`${this.constructor.name}: module graph has a cycle at '${p}'`);
      const key = (n: string): string => (p === '' ? n : `${p}.${n}`);
      for (const [n, t] of m.params) out[key(n)] = t;
      for (const [n, b] of m.buffs) if (b.persistent) out[key(n)] = b.tensor;
      path.add(m);
      for (const [n, c] of m.children_) walk(c, key(n), path);
      path.delete(m);
    };
    walk(this, '', new Set());
    return out;
  }

  /** Keys a module tolerates being absent from a checkpoint (e.g. BatchNorm's num_batches_tracked). */
  protected optionalStateKeys(): string[] {
    return [];
  }
  /** Keys a module silently skips in a checkpoint (e.g. FrozenBatchNorm2d's num_batches_tracked). */
  protected ignoredStateKeys(): string[] {
    return [];
  }

  /**
   * Copies values from `sd` into this module's tensors (converting dtype/device as needed). Shapes must
   * match; with strict (default) every key must be present and no key may be left over. All problems are
   * reported together in one error, and nothing is copied unless the whole state fits.
   */
  loadStateDict(sd: StateDict | Map<string, Tensor>, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true;
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const optional = new Set<string>();
    const ignored = new Set<string>();
    const walk = (m: Module, p: string): void => {
      const key = (n: string): string => (p === '' ? n : `${p}.${n}`);
      for (const k of m.optionalStateKeys()) optional.add(key(k));
      for (const k of m.ignoredStateKeys()) ignored.add(key(k));
      for (const [n, c] of m.children_) walk(c, key(n));
    };
    walk(this, '');
    const missing: string[] = [];
    const mismatched: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [k, t] of Object.entries(own)) {
      const s = src.get(k);
      if (s === undefined) {
        if (!optional.has(k)) missing.push(k);
        continue;
      }
      const want = N.shape(t);
      const got = N.shape(s);
      if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
        mismatched.push(`${k}: checkpoint [${got.join(', ')}], model [${want.join(', ')}]`);
        continue;
      }
      copies.push([t, s]);
    }
    const unexpected = [...src.keys()].filter((k) => !(k in own) && !ignored.has(k));
    const problems: string[] = [];
    if (strict && missing.length > 0)
      problems.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
    if (strict && unexpected.length > 0)
      problems.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
    if (mismatched.length > 0)
      problems.push(`shape mismatch (${mismatched.length}):\n    ${mismatched.join('\n    ')}`);
    if (problems.length > 0) {
      throw new Error(
        `loadStateDict(${this.constructor.name}): the state does not fit:\n  ${problems.join('\n  ')}`,
      );
    }
    const prev = N.setGradEnabled(false);
    try {
      for (const [dst, s] of copies) N.copy_(dst, s);
    } finally {
      N.setGradEnabled(prev);
    }
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  /** Frees every parameter and buffer of this module and its descendants. */
  dispose(): void {
    for (const m of this.modules()) {
      for (const t of m.params.values()) N.dispose(t);
      for (const b of m.buffs.values()) N.dispose(b.tensor);
    }
  }

  /** A one-line-per-module summary, like printing an nn.Module. */
  toString(): string {
    const lines: string[] = [];
    const walk = (m: Module, name: string, depth: number): void => {
      const pad = '  '.repeat(depth);
      const own = [...m.params].map(([n, t]) => `${n}[${N.shape(t).join('x')}]`).join(' ');
      lines.push(`${pad}${name === '' ? '' : `(${name}): `}${m.constructor.name}${own ? ` ${own}` : ''}`);
      for (const [n, c] of m.children_) walk(c, n, depth + 1);
    };
    walk(this, '', 0);
    return lines.join('\n');
  }
}
