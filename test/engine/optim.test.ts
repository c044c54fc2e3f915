// Optimisers against torch.optim trajectories (test/engine/optim-expected.json, written by
// scripts/gen-engine-golden.py with torch 1.13): a linear least-squares problem, 6 steps, every parameter
// value after every step equal within 1e-6. Plus state save / resume, param groups and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randn, tensor, zeros } from '../../src/engine/creation.ts';
import { manualSeed } from '../../src/engine/runtime.ts';
import { tidy } from '../../src/engine/memory.ts';
import { N } from '../../src/engine/native.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import {
  AdamW,
  LrScheduler,
  SGD,
  paramGroups,
  isNormOrEmbedding,
  polySchedule,
} from '../../src/engine/optim/index.ts';
import type { Optimizer } from '../../src/engine/optim/index.ts';
import { BatchNorm2d, Conv2d, Embedding, Linear, Module, Sequential } from '../../src/engine/nn/index.ts';
import { saveOptimizer, loadOptimizer } from '../../src/engine/optim/checkpoint.ts';
import { readSafetensors, writeSafetensors } from '../../src/engine/io/safetensors.ts';

interface Arr {
  shape: number[];
  data: number[];
}
interface Golden {
  problem: { w: Arr; b: Arr; x: Arr; t: Arr };
  steps: number;
  cases: Record<
    string,
    { trajectory: { w: number[]; b: number[] }[]; final_state: Record<string, Record<string, Arr | number>> }
  >;
}
const G = JSON.parse(readFileSync(new URL('./optim-expected.json', import.meta.url), 'utf8')) as Golden;

const fromArr = (a: Arr): Tensor => tensor(a.data).reshape(a.shape);
const vals = (t: Tensor): number[] => Array.from(t.toTypedArray() as Float32Array);

function close(actual: number[], expected: number[], what: string, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) =>
    assert.ok(
      Math.abs(v - expected[i]) <= tol,
      `${what}[${i}]: got ${v}, torch ${expected[i]} (diff ${v - expected[i]})`,
    ),
  );
}

/** The problem's parameters (fresh copies) and a closure computing mse(x w^T + b, t) and its gradients. */
/**
 * The problem's parameters (fresh copies) and a closure computing mse(x w^T + b, t) and its gradients.
 * variant 'strided': w is a transposed (non-contiguous) leaf, which takes the ATen path of the native
 * step instead of the fused loop; 'negated': the loss is negated (for maximize).
 */
function problem(variant: 'plain' | 'strided' | 'negated' = 'plain'): {
  w: Tensor;
  b: Tensor;
  lossBackward: () => void;
} {
  const w =
    variant === 'strided'
      ? fromArr(G.problem.w).t().contiguous().t().keep().requiresGrad_(true)
      : fromArr(G.problem.w).keep().requiresGrad_(true);
  const b = fromArr(G.problem.b).keep().requiresGrad_(true);
  const x = fromArr(G.problem.x).keep();
  const t = fromArr(G.problem.t).keep();
  const lossBackward = (): void =>
    tidy(() => {
      const loss = x.matmul(w.t()).add(b).sub(t).square().mean();
      (variant === 'negated' ? loss.neg() : loss).backward();
    });
  return { w, b, lossBackward };
}

function runCase(
  name: string,
  make: (w: Tensor, b: Tensor) => Optimizer<{ lr: number }>,
  scheduled = false,
  variant: 'plain' | 'strided' | 'negated' = 'plain',
): { opt: Optimizer<{ lr: number }>; w: Tensor; b: Tensor } {
  const { w, b, lossBackward } = problem(variant);
  const opt = make(w, b);
  const sched = scheduled
    ? new LrScheduler(opt, polySchedule({ maxIters: 10, power: 0.9, warmupIters: 2, warmupFactor: 0.1 }))
    : null;
  const golden = G.cases[name];
  for (let s = 0; s < G.steps; s++) {
    opt.zeroGrad();
    lossBackward();
    opt.step();
    sched?.step();
    close(vals(w), golden.trajectory[s].w, `${name} step ${s + 1} w`);
    close(vals(b), golden.trajectory[s].b, `${name} step ${s + 1} b`);
  }
  return { opt, w, b };
}

function checkFinalState(name: string, opt: Optimizer<{ lr: number }>): void {
  const sd = opt.stateDict();
  const golden = G.cases[name].final_state;
  assert.deepEqual(
    Object.keys(sd.slots).sort(),
    Object.keys(golden).sort(),
    `${name}: parameters with state`,
  );
  for (const [idx, st] of Object.entries(golden)) {
    for (const [slot, v] of Object.entries(st)) {
      if (slot === 'step') assert.equal(sd.step[idx], v, `${name} param ${idx} step`);
      else close(vals(sd.slots[idx][slot]), (v as Arr).data, `${name} param ${idx} ${slot}`);
    }
  }
}

test('AdamW with two parameter groups (own lr, no decay for the bias) follows torch.optim.AdamW', () => {
  const { opt } = runCase(
    'adamw_groups',
    (w, b) =>
      new AdamW([{ params: [w] }, { params: [b], lr: 0.05, weightDecay: 0 }], { lr: 0.1, weightDecay: 0.1 }),
  );
  checkFinalState('adamw_groups', opt);
});

test('AdamW with amsgrad, custom betas and eps follows torch', () => {
  const { opt } = runCase(
    'adamw_amsgrad',
    (w, b) => new AdamW([w, b], { lr: 0.02, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.3, amsgrad: true }),
  );
  checkFinalState('adamw_amsgrad', opt);
});

test('AdamW driven by a warm-up + poly schedule follows torch LambdaLR', () => {
  runCase('adamw_poly', (w, b) => new AdamW([w, b], { lr: 0.1 }), true);
});

test('SGD (plain, momentum with dampening and weight decay, Nesterov with groups) follows torch.optim.SGD', () => {
  runCase('sgd_plain', (w, b) => new SGD([w, b], { lr: 0.1 }));
  const { opt } = runCase(
    'sgd_momentum',
    (w, b) => new SGD([w, b], { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
  );
  checkFinalState('sgd_momentum', opt);
  runCase(
    'sgd_nesterov',
    (w, b) =>
      new SGD([{ params: [w] }, { params: [b], lr: 0.02 }], {
        lr: 0.05,
        momentum: 0.9,
        nesterov: true,
        weightDecay: 1e-3,
      }),
  );
});

test('the ATen path (strided parameter, maximize) gives the same trajectories as the fused loop', () => {
  const { w } = runCase(
    'adamw_amsgrad',
    (w, b) => new AdamW([w, b], { lr: 0.02, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.3, amsgrad: true }),
    false,
    'strided',
  );
  assert.ok(!w.isContiguous(), 'the strided variant really is non-contiguous');
  runCase(
    'adamw_groups',
    (w, b) =>
      new AdamW([{ params: [w] }, { params: [b], lr: 0.05, weightDecay: 0 }], {
        lr: 0.1,
        weightDecay: 0.1,
        maximize: true,
      }),
    false,
    'negated',
  );
  runCase(
    'sgd_momentum',
    (w, b) => new SGD([w, b], { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, maximize: true }),
    false,
    'negated',
  );
});

test('resume: 3 steps, save the state, load it into a new optimiser, 3 more steps = 6 straight steps', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wish-optim-'));
  try {
    for (const name of ['adamw_amsgrad', 'sgd_momentum']) {
      const make = (w: Tensor, b: Tensor): Optimizer<{ lr: number }> =>
        name === 'adamw_amsgrad'
          ? new AdamW([w, b], { lr: 0.02, betas: [0.8, 0.95], eps: 1e-6, weightDecay: 0.3, amsgrad: true })
          : new SGD([w, b], { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 });
      const { w, b, lossBackward } = problem();
      const first = make(w, b);
      const names: [string, Tensor][] = [
        ['w', w],
        ['b', b],
      ];
      for (let s = 0; s < 3; s++) {
        first.zeroGrad();
        lossBackward();
        first.step();
      }
      const file = join(dir, `${name}.safetensors`);
      await saveOptimizer(file, first, names);
      first.dispose();
      const second = make(w, b); // fresh state, different object
      await loadOptimizer(file, second, names);
      for (let s = 3; s < 6; s++) {
        second.zeroGrad();
        lossBackward();
        second.step();
        close(vals(w), G.cases[name].trajectory[s].w, `${name} resumed step ${s + 1} w`);
        close(vals(b), G.cases[name].trajectory[s].b, `${name} resumed step ${s + 1} b`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('parameters without a gradient are not touched and get no state (as torch)', () => {
  tidy(() => {
    const a = zeros([3]).add(1).keep().requiresGrad_(true);
    const frozen = zeros([2]).add(5).keep().requiresGrad_(true);
    const opt = new AdamW([a, frozen], { lr: 0.1, weightDecay: 0.5 });
    a.sum().backward();
    opt.step();
    assert.deepEqual(vals(frozen), [5, 5], 'no decay without a gradient');
    assert.equal(opt.stateOf(frozen), undefined);
    assert.equal(opt.stateOf(a)?.step, 1);
    assert.ok(vals(a).every((v) => v < 1));
    assert.deepEqual(Object.keys(opt.stateDict().slots), ['0']);
    opt.dispose();
  });
});

class Tiny extends Module {
  readonly backbone: Sequential;
  readonly embed: Embedding;
  readonly head: Linear;
  constructor() {
    super();
    this.backbone = this.registerModule('backbone', new Sequential(new Conv2d(3, 4, 3), new BatchNorm2d(4)));
    this.embed = this.registerModule('embed', new Embedding(5, 4));
    this.head = this.registerModule('head', new Linear(4, 2));
  }
}

test('paramGroups: backbone at 0.1x lr, no weight decay for norms and embeddings, frozen parameters left out', () => {
  const m = new Tiny();
  m.head.bias!.requiresGrad_(false);
  const groups = paramGroups(m, { lr: 1e-3, weightDecay: 0.05 }, [
    { match: (name) => name.startsWith('backbone.'), lrMult: 0.1 },
    { match: (_n, _p, owner) => isNormOrEmbedding(owner), weightDecay: 0 },
  ]);
  const named = new Map(m.namedParameters().map(([k, t]) => [t, k]));
  const summary = groups.map((g) => ({
    lr: g.lr,
    wd: g.weightDecay,
    names: g.params.map((p) => named.get(p)),
  }));
  assert.deepEqual(summary, [
    { lr: 1e-3 * 0.1, wd: 0.05, names: ['backbone.0.weight', 'backbone.0.bias'] },
    { lr: 1e-3 * 0.1, wd: 0, names: ['backbone.1.weight', 'backbone.1.bias'] },
    { lr: 1e-3, wd: 0, names: ['embed.weight'] },
    { lr: 1e-3, wd: 0.05, names: ['head.weight'] },
  ]);
  const opt = new AdamW(groups);
  assert.deepEqual(
    opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.betas]),
    summary.map((s) => [s.lr, s.wd, [0.9, 0.999]]),
  );
  const sd = opt.stateDict(m.namedParameters());
  assert.deepEqual(sd.groups[3].params, ['head.weight']);
  assert.equal(sd.groups[1].weight_decay, 0);
  m.dispose();
});

test('LrScheduler sets every group to initialLr * factor, keeping the groups ratio', () => {
  tidy(() => {
    const a = zeros([1]).keep().requiresGrad_(true);
    const b = zeros([1]).keep().requiresGrad_(true);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.01 }], { lr: 0.1 });
    const sched = new LrScheduler(opt, polySchedule({ maxIters: 4, power: 1 }));
    assert.deepEqual(
      opt.paramGroups.map((g) => g.lr),
      [0.1, 0.01],
    );
    sched.step();
    sched.step();
    assert.deepEqual(
      opt.paramGroups.map((g) => g.lr),
      [0.05, 0.005],
    );
    assert.equal(sched.lastIter, 2);
    const resumed = new LrScheduler(opt, polySchedule({ maxIters: 4, power: 1 }), 3);
    assert.ok(Math.abs(opt.paramGroups[0].lr - 0.025) < 1e-15);
    assert.equal(resumed.lastIter, 3);
  });
});

test('bad settings and mismatched state are refused with clear errors', () => {
  tidy(() => {
    const a = zeros([2]).keep().requiresGrad_(true);
    const b = zeros([3]).keep().requiresGrad_(true);
    assert.throws(() => new AdamW([a], { lr: -1 }), /AdamW: group 0: lr must be a number >= 0, got -1/);
    assert.throws(() => new AdamW([a], { betas: [0.9, 1] }), /betas\[1\] must be a number in \[0, /);
    assert.throws(() => new SGD([a], { nesterov: true }), /nesterov needs momentum > 0 and dampening 0/);
    assert.throws(() => new SGD([{ params: [a] }, { params: [a] }]), /appears in more than one group/);
    assert.throws(() => new SGD([]), /empty parameter list/);

    const opt = new AdamW([a, b]);
    a.sum().backward();
    b.sum().backward();
    opt.step();
    const sd = opt.stateDict();
    const other = new AdamW([b, a]);
    assert.throws(
      () => other.loadStateDict(sd),
      (e: Error) => {
        assert.match(e.message, /"0\/exp_avg": shape \[2\] != parameter shape \[3\]/);
        assert.match(e.message, /"1\/exp_avg_sq": shape \[3\] != parameter shape \[2\]/);
        return true;
      },
    );
    assert.throws(() => new SGD([a, b]).loadStateDict(sd), /state is for AdamW, not SGD/);
    assert.throws(
      () => new AdamW([{ params: [a] }, { params: [b] }]).loadStateDict(sd),
      /state has 1 parameter groups, optimiser has 2/,
    );
    opt.dispose();
  });
});

test('the native step refuses a parameter that has a gradient but no state', () => {
  tidy(() => {
    const a = zeros([2]).keep().requiresGrad_(true);
    a.sum().backward();
    const NO = N as unknown as { optimAdamwStep: (...args: unknown[]) => unknown };
    assert.throws(
      () => NO.optimAdamwStep([a], [null], [null], null, [0], 0.1, 0.9, 0.999, 1e-8, 0, false, false),
      /adamw: parameter 0 has a gradient but no optimiser state/,
    );
  });
});

test('optimiser checkpoints: model tensors ride along; a file without optimiser state is refused by name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wish-optim-'));
  try {
    const lin = new Linear(3, 2);
    const opt = new SGD(lin.parameters(), { lr: 0.1, momentum: 0.9 });
    tidy(() =>
      lin
        .forward(zeros([4, 3]).add(1))
        .sum()
        .backward(),
    );
    opt.step();
    const file = join(dir, 'ck.safetensors');
    await saveOptimizer(file, opt, lin.namedParameters(), lin.stateDict());
    const { tensors, metadata } = await readSafetensors(file);
    assert.deepEqual(Object.keys(tensors).sort(), [
      'bias',
      'optim/bias/momentum_buffer',
      'optim/weight/momentum_buffer',
      'weight',
    ]);
    assert.deepEqual(JSON.parse(metadata.optim).step, { weight: 1, bias: 1 });
    const bare = join(dir, 'bare.safetensors');
    await writeSafetensors(bare, { weight: tensors.weight });
    await assert.rejects(
      loadOptimizer(bare, opt, lin.namedParameters()),
      /bare\.safetensors: no optimiser state/,
    );
    opt.dispose();
    lin.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fused AdamW over several large parameters (split across threads) equals the ATen path', () => {
  tidy(() => {
    manualSeed(5);
    const shapes = [[200, 200], [30000], [5], [3, 7]];
    const fused = shapes.map((s) => randn(s).keep().requiresGrad_(true));
    const plain = fused.map((p) => p.detach().clone().keep().requiresGrad_(true));
    const opts = { lr: 0.01, weightDecay: 0.05, amsgrad: true };
    const a = new AdamW(fused, opts);
    const b = new AdamW(plain, { ...opts, maximize: true }); // maximize takes the ATen path
    for (let step = 0; step < 3; step++) {
      fused.forEach((p, i) => {
        const g = randn(shapes[i]);
        p.grad = g;
        plain[i].grad = g.neg(); // maximize(-g) is minimise(g)
      });
      a.step();
      b.step();
    }
    fused.forEach((p, i) => {
      const diff = p.sub(plain[i]).abs().max().item();
      assert.ok(diff < 1e-6, `parameter ${i} (${shapes[i]}): fused and ATen differ by ${diff}`);
    });
    a.dispose();
    b.dispose();
  });
});
