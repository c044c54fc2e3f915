// One contract for every layer (timm-style): forward gives the documented shape, backward reaches every
// parameter with a finite, non-zero gradient, and a state dict saved from one instance and loaded into a
// fresh one (different random init) reproduces the outputs exactly. Keys are checked against PyTorch's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed } from '../../src/engine/runtime.ts';
import { randint, randn, tensor } from '../../src/engine/creation.ts';
import { noGrad } from '../../src/engine/autograd.ts';
import { tidy } from '../../src/engine/memory.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  Embedding,
  FrozenBatchNorm2d,
  GroupNorm,
  Identity,
  LayerNorm,
  LayerNorm2d,
  Linear,
  MLP,
  Module,
  ModuleList,
  MultiheadAttention,
  Sequential,
} from '../../src/engine/nn/index.ts';

/** A ModuleList has no forward of its own: this applies its layers in turn. */
class Stack extends Module {
  readonly blocks: ModuleList<Linear>;
  constructor() {
    super();
    this.blocks = this.registerModule('blocks', new ModuleList([new Linear(4, 6), new Linear(6, 3)]));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const b of this.blocks) y = b.forward(y).relu();
    return y;
  }
}

interface Case {
  name: string;
  make: () => Module;
  inputs: () => Tensor[];
  run: (m: Module, inputs: Tensor[]) => Tensor;
  shape: number[];
  keys: string[];
  /** Whether the input itself should receive a gradient (false for integer inputs). */
  inputGrad?: boolean;
}

type Fwd = { forward(x: Tensor): Tensor };
const one = (m: Module, [x]: Tensor[]): Tensor => (m as unknown as Fwd).forward(x);

const CASES: Case[] = [
  {
    name: 'Linear',
    make: () => new Linear(5, 3),
    inputs: () => [randn([2, 4, 5])],
    run: one,
    shape: [2, 4, 3],
    keys: ['weight', 'bias'],
  },
  {
    name: 'Conv2d',
    make: () => new Conv2d(3, 4, 3, { stride: 2, padding: 1 }),
    inputs: () => [randn([2, 3, 7, 7])],
    run: one,
    shape: [2, 4, 4, 4],
    keys: ['weight', 'bias'],
  },
  {
    name: 'ConvTranspose2d',
    make: () => new ConvTranspose2d(4, 2, 2, { stride: 2 }),
    inputs: () => [randn([1, 4, 3, 5])],
    run: one,
    shape: [1, 2, 6, 10],
    keys: ['weight', 'bias'],
  },
  {
    name: 'BatchNorm2d',
    make: () => new BatchNorm2d(3),
    inputs: () => [randn([4, 3, 2, 2])],
    run: one,
    shape: [4, 3, 2, 2],
    keys: ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'],
  },
  {
    name: 'FrozenBatchNorm2d',
    make: () => new FrozenBatchNorm2d(3),
    inputs: () => [randn([2, 3, 2, 2])],
    run: one,
    shape: [2, 3, 2, 2],
    keys: ['weight', 'bias', 'running_mean', 'running_var'],
  },
  {
    name: 'LayerNorm',
    make: () => new LayerNorm(6),
    inputs: () => [randn([2, 3, 6])],
    run: one,
    shape: [2, 3, 6],
    keys: ['weight', 'bias'],
  },
  {
    name: 'LayerNorm2d',
    make: () => new LayerNorm2d(4),
    inputs: () => [randn([2, 4, 3, 3])],
    run: one,
    shape: [2, 4, 3, 3],
    keys: ['weight', 'bias'],
  },
  {
    name: 'GroupNorm',
    make: () => new GroupNorm(2, 4),
    inputs: () => [randn([2, 4, 3, 3])],
    run: one,
    shape: [2, 4, 3, 3],
    keys: ['weight', 'bias'],
  },
  {
    name: 'Embedding',
    make: () => new Embedding(10, 4, { paddingIdx: 0 }),
    inputs: () => [randint(0, 10, [2, 5], { dtype: 'int64' })],
    run: one,
    shape: [2, 5, 4],
    keys: ['weight'],
    inputGrad: false,
  },
  {
    name: 'MultiheadAttention (cross, batch first, padding mask)',
    make: () => new MultiheadAttention(8, 2, { batchFirst: true }),
    inputs: () => [randn([2, 3, 8]), randn([2, 5, 8])],
    run: (m, [q, kv]) =>
      (m as MultiheadAttention).forward(q, kv, kv, {
        keyPaddingMask: tensor([
          [false, false, false, false, true],
          [false, true, false, false, false],
        ]),
      })[0],
    shape: [2, 3, 8],
    keys: ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'],
  },
  {
    name: 'MultiheadAttention (self, sequence first)',
    make: () => new MultiheadAttention(8, 4),
    inputs: () => [randn([5, 2, 8])],
    run: (m, [x]) => (m as MultiheadAttention).forward(x, x, x, { needWeights: false })[0],
    shape: [5, 2, 8],
    keys: ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'],
  },
  {
    name: 'MLP',
    make: () => new MLP(4, 16, 2, 3, { activation: 'gelu', sigmoidOutput: true }),
    inputs: () => [randn([5, 4])],
    run: one,
    shape: [5, 2],
    keys: [
      'layers.0.weight',
      'layers.0.bias',
      'layers.1.weight',
      'layers.1.bias',
      'layers.2.weight',
      'layers.2.bias',
    ],
  },
  {
    name: 'Identity',
    make: () => new Identity(),
    inputs: () => [randn([2, 3])],
    run: one,
    shape: [2, 3],
    keys: [],
  },
  {
    name: 'Dropout',
    make: () => new Dropout(0.3),
    inputs: () => [randn([4, 5])],
    run: one,
    shape: [4, 5],
    keys: [],
  },
  {
    name: 'Sequential',
    make: () =>
      new Sequential(new Conv2d(3, 4, 3, { padding: 1, bias: false }), new BatchNorm2d(4), new Dropout(0.1)),
    inputs: () => [randn([2, 3, 4, 4])],
    run: one,
    shape: [2, 4, 4, 4],
    keys: ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked'],
  },
  {
    name: 'ModuleList',
    make: () => new Stack(),
    inputs: () => [randn([3, 4])],
    run: one,
    shape: [3, 3],
    keys: ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias'],
  },
];

function values(t: Tensor): number[] {
  return Array.from(t.toTypedArray() as Float32Array);
}

for (const c of CASES) {
  test(`module contract: ${c.name}`, () => {
    manualSeed(11);
    tidy(() => {
      const m = c.make();
      assert.deepEqual(Object.keys(m.stateDict()), c.keys, 'state-dict keys (PyTorch names, PyTorch order)');

      // forward + backward in train mode
      const inputs = c.inputs();
      if (c.inputGrad !== false) inputs[0].requiresGrad_(true);
      const out = c.run(m, inputs);
      assert.deepEqual(out.shape, c.shape, 'output shape');
      const weight = randn(out.shape);
      out.mul(weight).sum().backward();
      for (const [name, p] of m.namedParameters()) {
        const g = p.grad;
        assert.ok(g !== null, `${name} got no gradient`);
        assert.deepEqual(g.shape, p.shape, `${name}: gradient shape`);
        const gv = values(g);
        assert.ok(gv.every(Number.isFinite), `${name}: gradient is not finite`);
        assert.ok(
          gv.some((v) => v !== 0),
          `${name}: gradient is all zeros`,
        );
      }
      if (c.inputGrad !== false) {
        const gx = inputs[0].grad;
        assert.ok(gx !== null && values(gx).every(Number.isFinite), 'input gradient');
      }

      // state-dict round trip: a fresh instance (other random init) reproduces the outputs in eval mode
      manualSeed(999);
      const fresh = c.make();
      fresh.loadStateDict(m.stateDict());
      m.eval();
      fresh.eval();
      noGrad(() => {
        const a = values(c.run(m, inputs));
        const b = values(c.run(fresh, inputs));
        assert.deepEqual(b, a, 'outputs after loading the state dict');
      });
      for (const [k, t] of Object.entries(fresh.stateDict())) {
        assert.deepEqual(
          Array.from(t.toTypedArray() as ArrayLike<number | bigint>),
          Array.from(m.stateDict()[k].toTypedArray() as ArrayLike<number | bigint>),
          `${k} after round trip`,
        );
      }
      m.dispose();
      fresh.dispose();
    });
  });
}

test('BatchNorm2d: running statistics move in train mode and are used in eval mode', () => {
  tidy(() => {
    const bn = new BatchNorm2d(2, { momentum: 0.5 });
    // channel 0 holds 1, 3 (mean 2, unbiased var 2); channel 1 holds 5, 5 (mean 5, var 0)
    const x = tensor([
      [[[1]], [[5]]],
      [[[3]], [[5]]],
    ]);
    bn.forward(x);
    assert.deepEqual(values(bn.runningMean!), [0.5 * 0 + 0.5 * 2, 0.5 * 0 + 0.5 * 5]);
    assert.deepEqual(values(bn.runningVar!), [0.5 * 1 + 0.5 * 2, 0.5 * 1 + 0.5 * 0]);
    assert.equal(Number(bn.numBatchesTracked!.item()), 1);
    bn.eval();
    const y = bn.forward(tensor([[[[2.5]], [[3]]]]));
    const expected = [(2.5 - 1) / Math.sqrt(1.5 + 1e-5), (3 - 2.5) / Math.sqrt(0.5 + 1e-5)];
    values(y).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `${v} vs ${expected[i]}`));
    bn.dispose();
  });
});

test('FrozenBatchNorm2d: y = (x - mean) / sqrt(var + eps) * w + b, identical in train and eval', () => {
  tidy(() => {
    const f = new FrozenBatchNorm2d(1, 0);
    f.loadStateDict({
      weight: tensor([2]),
      bias: tensor([1]),
      running_mean: tensor([3]),
      running_var: tensor([4]),
      num_batches_tracked: tensor(7, { dtype: 'int64' }), // a trainable BN's checkpoint: ignored
    });
    const x = tensor([[[[5, 1]]]]);
    assert.deepEqual(values(f.forward(x)), [((5 - 3) / 2) * 2 + 1, ((1 - 3) / 2) * 2 + 1]);
    f.eval();
    assert.deepEqual(values(f.forward(x)), [3, -1]);
    assert.equal(f.parameters().length, 0);
    f.dispose();
  });
});

test('Embedding keeps its padding row at zero', () => {
  tidy(() => {
    const e = new Embedding(4, 3, { paddingIdx: -1 });
    assert.equal(e.paddingIdx, 3);
    assert.deepEqual(values(e.weight.select(0, 3)), [0, 0, 0]);
    e.dispose();
  });
});

test('Dropout: identity in eval mode, zeros about p of the values in train mode, scaled by 1/(1-p)', () => {
  tidy(() => {
    manualSeed(3);
    const d = new Dropout(0.25);
    const x = randn([100, 100]).abs().add(0.1);
    const y = values(d.forward(x));
    const xs = values(x);
    const zeros = y.filter((v) => v === 0).length;
    assert.ok(zeros > 2000 && zeros < 3000, `${zeros} zeros of 10000`);
    y.forEach((v, i) => v === 0 || assert.ok(Math.abs(v - xs[i] / 0.75) < 1e-5));
    d.eval();
    assert.equal(d.forward(x), x);
  });
});
