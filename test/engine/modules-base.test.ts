// The Module base: dotted names and order, train/eval, moving, and loadStateDict's checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ones, tensor, zeros } from '../../src/engine/creation.ts';
import { tidy } from '../../src/engine/memory.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import { BatchNorm2d, Conv2d, Dropout, Linear, Module, Sequential } from '../../src/engine/nn/index.ts';

class Block extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  constructor() {
    super();
    this.conv = this.registerModule('conv', new Conv2d(2, 3, 1, { bias: false }));
    this.bn = this.registerModule('bn', new BatchNorm2d(3));
  }
}

class Net extends Module {
  readonly scale: Tensor;
  readonly stem: Block;
  readonly head: Sequential;
  constructor() {
    super();
    this.scale = this.registerParameter('scale', ones([1]));
    this.registerBuffer('anchors', zeros([2]), { persistent: false });
    this.stem = this.registerModule('stem', new Block());
    this.head = this.registerModule(
      'head',
      new Sequential(new Linear(3, 4), new Dropout(0.1), new Linear(4, 2)),
    );
  }
}

const vals = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);

test('names are dotted paths in PyTorch order; state dict has persistent buffers only', () => {
  tidy(() => {
    const n = new Net();
    assert.deepEqual(
      n.namedParameters().map(([k]) => k),
      [
        'scale',
        'stem.conv.weight',
        'stem.bn.weight',
        'stem.bn.bias',
        'head.0.weight',
        'head.0.bias',
        'head.2.weight',
        'head.2.bias',
      ],
    );
    assert.deepEqual(
      n.namedBuffers().map(([k]) => k),
      ['anchors', 'stem.bn.running_mean', 'stem.bn.running_var', 'stem.bn.num_batches_tracked'],
    );
    assert.deepEqual(Object.keys(n.stateDict()), [
      'scale',
      'stem.conv.weight',
      'stem.bn.weight',
      'stem.bn.bias',
      'stem.bn.running_mean',
      'stem.bn.running_var',
      'stem.bn.num_batches_tracked',
      'head.0.weight',
      'head.0.bias',
      'head.2.weight',
      'head.2.bias',
    ]);
    assert.deepEqual(
      n.namedChildren().map(([k]) => k),
      ['stem', 'head'],
    );
    assert.deepEqual(
      n.namedModules().map(([k]) => k),
      ['', 'stem', 'stem.conv', 'stem.bn', 'head', 'head.0', 'head.1', 'head.2'],
    );
    assert.equal(n.getSubmodule('stem.bn'), n.stem.bn);
    assert.throws(() => n.getSubmodule('stem.nope'), /no submodule 'stem.nope' \('nope' not found\)/);
    assert.equal(n.numParameters(), 1 + 6 + 3 + 3 + 12 + 4 + 8 + 2);
    n.dispose();
  });
});

test('a shared layer: its parameters are listed once, but the state dict has both names (as PyTorch)', () => {
  class Tied extends Module {
    readonly a: Linear;
    readonly b: Linear;
    constructor() {
      super();
      this.a = this.registerModule('a', new Linear(2, 2, { bias: false }));
      this.b = this.registerModule('b', this.a);
    }
  }
  const t = new Tied();
  assert.deepEqual(
    t.namedParameters().map(([k]) => k),
    ['a.weight'],
  );
  assert.deepEqual(Object.keys(t.stateDict()), ['a.weight', 'b.weight']);
  assert.equal(t.stateDict()['b.weight'], t.a.weight);
  t.dispose();
});

test('registration refuses dotted or duplicate names', () => {
  class Bad extends Module {
    constructor(name: string, twice: boolean) {
      super();
      this.registerParameter(name, zeros([1]));
      if (twice) this.registerBuffer(name, zeros([1]));
    }
  }
  assert.throws(() => new Bad('a.b', false), /bad member name 'a.b'/);
  assert.throws(() => new Bad('w', true), /'w' is already registered/);
});

test('train() / eval() reach every descendant; requiresGrad_ freezes every parameter', () => {
  const n = new Net();
  n.eval();
  assert.ok(n.modules().every((m) => !m.training));
  n.train();
  assert.ok(n.modules().every((m) => m.training));
  n.stem.requiresGrad_(false);
  assert.deepEqual(
    n
      .namedParameters()
      .filter(([, p]) => p.requiresGrad)
      .map(([k]) => k),
    ['scale', 'head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias'],
  );
  assert.equal(n.numParameters(true), 1 + 12 + 4 + 8 + 2);
  n.dispose();
});

test('loadStateDict names every missing, unexpected and mis-shaped key in one error and copies nothing', () => {
  tidy(() => {
    const n = new Net();
    const before = vals((n.head.at(0) as Linear).weight);
    const sd = { ...n.stateDict() };
    delete sd['stem.conv.weight'];
    delete sd['head.2.bias'];
    sd['head.0.weight'] = zeros([4, 3]).add(7); // right shape, would be copied if all fitted
    sd['head.2.weight'] = zeros([3, 4]);
    sd['stem.bn.bias'] = zeros([5]);
    sd['extra.weight'] = zeros([1]);
    sd['head.9.bias'] = zeros([1]);
    assert.throws(
      () => n.loadStateDict(sd),
      (e: Error) => {
        assert.match(e.message, /missing keys \(2\): stem\.conv\.weight, head\.2\.bias/);
        assert.match(e.message, /unexpected keys \(2\): extra\.weight, head\.9\.bias/);
        assert.match(e.message, /shape mismatch \(2\):/);
        assert.match(e.message, /stem\.bn\.bias: checkpoint \[5\], model \[3\]/);
        assert.match(e.message, /head\.2\.weight: checkpoint \[3, 4\], model \[2, 4\]/);
        return true;
      },
    );
    assert.deepEqual(vals((n.head.at(0) as Linear).weight), before, 'nothing copied after a failed load');

    // strict: false tolerates missing and unexpected keys (not shape mismatches) and reports them
    delete sd['stem.bn.bias'];
    delete sd['head.2.weight'];
    const r = n.loadStateDict(sd, { strict: false });
    assert.deepEqual(r.missingKeys, ['stem.conv.weight', 'stem.bn.bias', 'head.2.weight', 'head.2.bias']);
    assert.deepEqual(r.unexpectedKeys, ['extra.weight', 'head.9.bias']);
    assert.deepEqual(vals((n.head.at(0) as Linear).weight), Array(12).fill(7));
    n.dispose();
  });
});

test('loadStateDict converts dtype, keeps parameter identity, and BatchNorm tolerates a missing batch counter', () => {
  tidy(() => {
    const bn = new BatchNorm2d(2);
    const w = bn.weight;
    bn.loadStateDict({
      weight: tensor([2, 3], { dtype: 'float64' }),
      bias: tensor([0, 1]),
      running_mean: tensor([0.5, 0.5]),
      running_var: tensor([4, 4]),
    });
    assert.equal(bn.weight, w);
    assert.equal(bn.weight!.dtype, 'float32');
    assert.deepEqual(vals(bn.weight!), [2, 3]);
    assert.ok(bn.weight!.requiresGrad);
    bn.dispose();
  });
});

test('to(dtype) casts floating tensors only and updates the fields that held them', () => {
  tidy(() => {
    const bn = new BatchNorm2d(2);
    bn.to('float64');
    assert.equal(bn.weight!.dtype, 'float64');
    assert.equal(bn.stateDict().weight, bn.weight);
    assert.equal(bn.runningVar!.dtype, 'float64');
    assert.equal(bn.numBatchesTracked!.dtype, 'int64');
    assert.ok(bn.weight!.requiresGrad);
    const y = bn.forward(
      tensor(
        [
          [[[1]], [[2]]],
          [[[3]], [[4]]],
        ],
        { dtype: 'float64' },
      ),
    );
    assert.equal(y.dtype, 'float64');
    bn.dispose();
  });
});

test('module tensors survive the tidy scope they were created in', () => {
  const lin = tidy(() => new Linear(3, 2));
  assert.ok(!lin.weight.isDisposed);
  assert.equal(lin.forward(zeros([1, 3])).shape[1], 2);
  lin.dispose();
  assert.ok(lin.weight.isDisposed);
});
