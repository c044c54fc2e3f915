// CUDA: the same model and trainer on the GPU as on the CPU. These run only where the addon was built
// against a CUDA libtorch and sees a device (WISH_TORCH_PYTHON, docs/engine.md); elsewhere they are skipped.
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import { uniformPoints } from '../../src/method/point-sample.ts';
import { buildModel } from '../../src/model/build.ts';
import { evaluateMaskAp, type ValSet } from '../../src/train/evaluate.ts';
import { train } from '../../src/train/trainer.ts';
import { syntheticSet, tinyConfig } from '../train/helpers.ts';

const skip = torch.cuda.isAvailable() ? false : 'no CUDA device here';

/** Largest |a - b| and largest |a|, on the CPU in float64. */
function diffAndScale(a: Tensor, b: Tensor): { diff: number; scale: number } {
  return torch.tidy(() => {
    const x = a.detach().cpu().double();
    const y = b.detach().cpu().double();
    assert.deepEqual(x.shape, y.shape);
    return { diff: x.sub(y).abs().max().item(), scale: x.abs().max().item() };
  });
}

test('tensors move to the GPU and back, seeded generators and synchronize work', { skip }, () => {
  const a = torch.arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3);
  const g = a.cuda();
  assert.equal(g.device, 'cuda:0');
  assert.deepEqual(g.mul(2).cpu().toArray(), [
    [0, 2, 4],
    [6, 8, 10],
  ]);
  torch.manualSeed(3);
  const r1 = torch.rand([5], { device: 'cuda' }).cpu().toFloat32Array();
  torch.manualSeed(3);
  const r2 = torch.rand([5], { device: 'cuda' }).cpu().toFloat32Array();
  assert.deepEqual(r1, r2);
  torch.cuda.synchronize();
  assert.ok(torch.cuda.deviceCount() >= 1);
});

test(
  'point draws: a CUDA generator draws on the GPU, a CPU generator gives its CPU stream on any device',
  { skip },
  () => {
    const draw = (g: torch.Generator, device: string): Float32Array =>
      torch.tidy(() => {
        const p = uniformPoints(3, 50, g, device);
        assert.equal(p.device, device === 'cpu' ? 'cpu' : 'cuda:0');
        assert.deepEqual(p.shape, [3, 50, 2]);
        return p.cpu().toFloat32Array();
      });
    const onGpu = draw(new torch.Generator(7, 'cuda'), 'cuda');
    assert.deepEqual(draw(new torch.Generator(7, 'cuda'), 'cuda:0'), onGpu); // seeded: repeatable
    assert.notDeepEqual(draw(new torch.Generator(8, 'cuda'), 'cuda'), onGpu);
    assert.ok(onGpu.every((v) => v >= 0 && v < 1));
    assert.deepEqual(draw(new torch.Generator(7), 'cuda'), draw(new torch.Generator(7), 'cpu'));
  },
);

for (const [name, pixelDecoder] of [
  ['FPN', { kind: 'fpn', convDim: 16, maskDim: 16 }],
  [
    'deformable',
    { kind: 'msdeform', convDim: 16, maskDim: 16, encoderLayers: 1, heads: 2, dimFeedforward: 32, points: 2 },
  ],
] as const) {
  test(`the model (${name} pixel decoder) gives the same outputs and gradients on the GPU`, { skip }, () => {
    torch.manualSeed(0);
    const cfg = { ...tinyConfig().model, pixelDecoder };
    const cpu = buildModel(cfg);
    const gpu = buildModel(cfg);
    gpu.loadStateDict(cpu.stateDict());
    gpu.to('cuda');
    const x = torch.randn([2, 3, 64, 64]);
    const loss = (m: typeof cpu, input: Tensor): { out: Tensor[]; loss: Tensor } => {
      const o = m.forward(input);
      const out = [o.predLogits, o.predMasks, o.camMaps];
      return {
        out,
        loss: out.reduce(
          (s, t) => s.add(t.float().square().mean()),
          torch.zeros([], { device: input.device }),
        ),
      };
    };
    const a = loss(cpu, x);
    const b = loss(gpu, x.cuda());
    a.loss.backward();
    b.loss.backward();
    // TF32 convolutions (cuDNN's default, as in PyTorch) keep about 3 decimal digits. A gradient that is
    // zero in exact arithmetic (a bias before a norm) is noise on both sides: it is measured against the
    // largest gradient of the model.
    for (let i = 0; i < a.out.length; i++) {
      const { diff, scale } = diffAndScale(a.out[i], b.out[i]);
      assert.ok(diff <= 5e-3 * scale, `output ${i}: |difference| ${diff}, scale ${scale}`);
    }
    const gp = new Map(gpu.namedParameters());
    const grads = cpu.namedParameters().filter(([, p]) => p.grad);
    const top = Math.max(...grads.map(([, p]) => diffAndScale(p.grad!, p.grad!).scale));
    for (const [k, p] of grads) {
      const { diff, scale } = diffAndScale(p.grad!, gp.get(k)!.grad!);
      assert.ok(
        diff <= 2e-2 * Math.max(scale, 1e-3 * top),
        `gradient of ${k}: |difference| ${diff}, scale ${scale}`,
      );
    }
  });
}

let set: Awaited<ReturnType<typeof syntheticSet>> | null = null;
before(async () => {
  if (!skip) set = await syntheticSet(8, { tag: 2, point: 2, box: 2, mask: 2 });
});

test(
  'the trainer runs on the GPU with every label kind: the loss falls and its checkpoint evaluates',
  { skip },
  async () => {
    const r = await train({
      config: tinyConfig({
        device: 'cuda',
        iterations: 14,
        batchSize: 4,
        augment: { minScale: 1, maxScale: 1, flipProb: 0 },
        optimizer: { lr: 3e-3, warmupIters: 0 },
        gradClip: 0,
        loss: { numPoints: 256, matcher: { numPoints: 256 }, warmupIterations: 2 },
      }),
      outDir: path.join(set!.dir, 'cuda'),
      prepared: set!.prepared,
      latents: set!.latents,
      teacher: set!.teacher,
      progress: false,
      val: null,
    });
    assert.ok(r.losses.every(Number.isFinite));
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(mean(r.losses.slice(-3)) < mean(r.losses.slice(2, 5)), `losses ${r.losses.join(', ')}`);
    assert.equal(r.model.parameters()[0].device, 'cuda:0');
    const val = { gt: set!.gt, imagesDir: set!.dir } as unknown as ValSet;
    const ev = await evaluateMaskAp(
      r.model,
      val,
      64,
      set!.gt.categories.map((c) => c.id),
    );
    assert.ok(ev.ap >= 0 && ev.ap <= 1);
  },
);
