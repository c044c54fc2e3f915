// Layers against torch 1.13 (test/engine/modules-expected.json, written by scripts/gen-engine-golden.py):
// each module gets PyTorch's weights through loadStateDict (strict: the key names must match), then its
// output, and for most the gradients of sum(out * R) w.r.t. the input and some weights, must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tensor } from '../../src/engine/creation.ts';
import { tidy } from '../../src/engine/memory.ts';
import type { Tensor } from '../../src/engine/tensor.ts';
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Embedding,
  GroupNorm,
  LayerNorm,
  LayerNorm2d,
  Linear,
  MLP,
  Module,
  MultiheadAttention,
} from '../../src/engine/nn/index.ts';

interface Arr {
  shape: number[];
  dtype: string;
  data: (number | boolean)[];
}
interface Case {
  args: number[];
  opts?: Record<string, unknown>;
  state: Record<string, Arr>;
  inputs: Arr[];
  output: Arr;
  loss_weight?: Arr;
  input_grad?: Arr;
  param_grads?: Record<string, Arr>;
  [extra: string]: unknown;
}
const G = JSON.parse(readFileSync(new URL('./modules-expected.json', import.meta.url), 'utf8')) as Record<
  string,
  Case
>;

function fromArr(a: Arr): Tensor {
  const dtype =
    a.dtype === 'float32' ? 'float32' : a.dtype === 'int64' ? 'int64' : a.dtype === 'bool' ? 'bool' : null;
  if (!dtype) throw new Error(`unexpected dtype ${a.dtype} in modules-expected.json`);
  const t = tensor(a.data as number[], { dtype });
  return t.reshape(a.shape);
}

function loadState(m: Module, c: Case): void {
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromArr(v)])));
}

function close(t: Tensor, a: Arr, what: string, tol = 1e-5): void {
  assert.deepEqual(t.shape, a.shape, `${what}: shape`);
  const got = Array.from(t.toTypedArray() as Float32Array);
  got.forEach((v, i) => {
    const e = a.data[i] as number;
    assert.ok(Math.abs(v - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: got ${v}, torch ${e}`);
  });
}

type Fwd = { forward(x: Tensor): Tensor };

/** forward one input, compare the output and (when recorded) gradients of sum(out * R). */
function checkCase(name: string, make: (c: Case) => Module): void {
  test(`${name} matches torch`, () => {
    const c = G[name];
    tidy(() => {
      const m = make(c);
      loadState(m, c);
      const x = fromArr(c.inputs[0]);
      if (c.input_grad) x.requiresGrad_(true);
      const y = (m as unknown as Fwd).forward(x);
      close(y, c.output, `${name} output`);
      if (c.loss_weight) {
        y.mul(fromArr(c.loss_weight)).sum().backward();
        close(x.grad!, c.input_grad!, `${name} input grad`);
        const params = new Map(m.namedParameters());
        for (const [k, g] of Object.entries(c.param_grads ?? {}))
          close(params.get(k)!.grad!, g, `${name} ${k} grad`);
      }
      m.dispose();
    });
  });
}

const opt = <T>(c: Case): T => (c.opts ?? {}) as T;

checkCase('linear', (c) => new Linear(c.args[0], c.args[1]));
checkCase('conv2d', (c) => new Conv2d(c.args[0], c.args[1], c.args[2], opt(c)));
checkCase('conv2d_grouped', (c) => new Conv2d(c.args[0], c.args[1], c.args[2], opt(c)));
checkCase('conv_transpose2d', (c) => new ConvTranspose2d(c.args[0], c.args[1], c.args[2], opt(c)));
checkCase('conv_transpose2d_outpad', (c) => new ConvTranspose2d(c.args[0], c.args[1], c.args[2], opt(c)));
checkCase('groupnorm', (c) => new GroupNorm(c.args[0], c.args[1]));
checkCase('layernorm', (c) => new LayerNorm(c.args[0]));
checkCase('layernorm2d', (c) => new LayerNorm2d(c.args[0]));
checkCase('mlp', (c) => new MLP(c.args[0], c.args[1], c.args[2], c.args[3], opt(c)));

test('embedding matches torch (padding row included)', () => {
  const c = G.embedding;
  tidy(() => {
    const m = new Embedding(c.args[0], c.args[1], opt(c));
    loadState(m, c);
    close(m.forward(fromArr(c.inputs[0])), c.output, 'embedding output');
  });
});

test('batchnorm2d matches torch: train-mode output, updated running statistics, eval-mode output', () => {
  const c = G.batchnorm2d;
  tidy(() => {
    const m = new BatchNorm2d(c.args[0]);
    loadState(m, c);
    close(m.forward(fromArr(c.inputs[0])), c.output, 'train output');
    const after = c.state_after_train as Record<string, Arr>;
    const sd = m.stateDict();
    close(sd.running_mean, after.running_mean, 'running_mean');
    close(sd.running_var, after.running_var, 'running_var');
    assert.equal(sd.num_batches_tracked.item(), after.num_batches_tracked.data[0]);
    m.eval();
    close(m.forward(fromArr(c.eval_input as Arr)), c.eval_output as Arr, 'eval output');
  });
});

test('multihead attention (batch first, key padding mask + float attn mask) matches torch, with gradients', () => {
  const c = G.mha;
  tidy(() => {
    const m = new MultiheadAttention(c.args[0], c.args[1], opt(c));
    loadState(m, c);
    const [q, k, v] = c.inputs.map(fromArr);
    q.requiresGrad_(true);
    const [y, w] = m.forward(q, k, v, {
      keyPaddingMask: fromArr(c.key_padding_mask as Arr),
      attnMask: fromArr(c.attn_mask as Arr),
    });
    close(y, c.output, 'output');
    close(w!, c.weights as Arr, 'averaged weights');
    y.mul(fromArr(c.loss_weight!)).sum().backward();
    close(q.grad!, c.input_grad!, 'query grad');
    close(m.inProjWeight.grad!, c.param_grads!.in_proj_weight, 'in_proj_weight grad');
    close(m.outProj.weight.grad!, c.param_grads!['out_proj.weight'], 'out_proj.weight grad');
  });
});

test('multihead attention (sequence first, self, bool causal mask, per-head weights) matches torch', () => {
  const c = G.mha_seq_first;
  tidy(() => {
    const m = new MultiheadAttention(c.args[0], c.args[1]);
    loadState(m, c);
    const x = fromArr(c.inputs[0]);
    const [y, w] = m.forward(x, x, x, { attnMask: fromArr(c.attn_mask as Arr), averageAttnWeights: false });
    close(y, c.output, 'output');
    close(w!, c.weights as Arr, 'per-head weights');
  });
});
