// Containers: Sequential (calls its layers in order) and ModuleList (holds modules, no forward). Children
// are registered under their index, so keys read "0.weight", "layers.3.bias" as in PyTorch.
import type { Tensor } from '../../tensor.ts';
import { Module } from '../module.ts';

/** A module mapping one tensor to one tensor: what Sequential chains. */
export interface Layer {
  forward(x: Tensor): Tensor;
}

export class Sequential extends Module {
  private readonly layers: (Module & Layer)[] = [];

  constructor(...layers: (Module & Layer)[]) {
    super();
    for (const l of layers) this.append(l);
  }

  append(layer: Module & Layer): this {
    this.registerModule(String(this.layers.length), layer);
    this.layers.push(layer);
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  at(i: number): Module & Layer {
    const l = this.layers.at(i);
    if (!l) throw new RangeError(`Sequential: index ${i} out of range (length ${this.layers.length})`);
    return l;
  }

  [Symbol.iterator](): Iterator<Module & Layer> {
    return this.layers[Symbol.iterator]();
  }

  /** x -> layer[n-1](...layer[0](x)) */
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  push(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new RangeError(`ModuleList: index ${i} out of range (length ${this.items.length})`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
