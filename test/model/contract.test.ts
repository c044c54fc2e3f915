// One contract for every model part (timm's idea): at tiny sizes, each backbone, pixel decoder, the
// decoder and the composed model must (1) give the documented shapes, (2) pass a gradient to every
// trainable parameter (finite), (3) survive a state-dict round trip through a safetensors file into a
// freshly initialised instance with identical outputs, and (4) make no tensor from host data after their
// first run (their constants are built once per device: on a GPU each upload would stall the forward).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import { loadSafetensors, saveSafetensors } from '../../src/engine/io/checkpoint.ts';
import type { Module } from '../../src/engine/nn/index.ts';
import { ResNet } from '../../src/model/backbone/resnet.ts';
import { SmallCnn } from '../../src/model/backbone/small-cnn.ts';
import type { Backbone, FeatureSpecs } from '../../src/model/backbone/types.ts';
import { buildModel } from '../../src/model/build.ts';
import {
  MODEL_CONFIGS,
  cpuSmall,
  paper,
  parseModelConfig,
  type ModelConfigInput,
} from '../../src/model/configs.ts';
import { FpnPixelDecoder } from '../../src/model/pixel-decoder/fpn.ts';
import { MSDeformPixelDecoder } from '../../src/model/pixel-decoder/msdeform-pixel-decoder.ts';
import { MaskedTransformerDecoder } from '../../src/model/transformer-decoder.ts';
import { countHostUploads } from './host-uploads.ts';

interface Part {
  name: string;
  make: () => Module;
  /** Runs the part on fixed inputs (made inside, from a fixed seed); returns its output tensors. */
  run: (m: Module) => Tensor[];
  /** Expected output shapes, in run's order. */
  shapes: number[][];
}

// A fixed input per call (seeded), so two runs see the same data.
function inputs<T>(seed: number, fn: () => T): T {
  torch.manualSeed(seed);
  return fn();
}

const specs = (c: number[]): FeatureSpecs => ({
  res2: { channels: c[0], stride: 4 },
  res3: { channels: c[1], stride: 8 },
  res4: { channels: c[2], stride: 16 },
  res5: { channels: c[3], stride: 32 },
});
const features = (c: number[], b: number, h: number, w: number) => ({
  res2: torch.randn([b, c[0], h / 4, w / 4]),
  res3: torch.randn([b, c[1], h / 8, w / 8]),
  res4: torch.randn([b, c[2], h / 16, w / 16]),
  res5: torch.randn([b, c[3], h / 32, w / 32]),
});
const backboneRun = (m: Module): Tensor[] => {
  const f = (m as Backbone).forward(inputs(1, () => torch.randn([2, 3, 64, 96])));
  return [f.res2, f.res3, f.res4, f.res5];
};

const tinyModel: ModelConfigInput = {
  numClasses: 3,
  promptDim: 8,
  inputSize: 64,
  backbone: { kind: 'small-cnn', widths: [8, 16, 16, 24], depth: 1 },
  camLevel: 'res4',
  // convDim 16 != hiddenDim 24: the decoder's input projections are exercised
  pixelDecoder: { kind: 'fpn', convDim: 16, maskDim: 12 },
  decoder: { hiddenDim: 24, numQueries: 5, nHeads: 2, dimFeedforward: 32, layers: 4 },
};

const PARTS: Part[] = [
  {
    name: 'ResNet-18 (batch norm)',
    make: () => new ResNet({ depth: 18, baseWidth: 4, norm: 'batch' }),
    run: backboneRun,
    shapes: [
      [2, 4, 16, 24],
      [2, 8, 8, 12],
      [2, 16, 4, 6],
      [2, 32, 2, 3],
    ],
  },
  {
    name: 'ResNet-34 (frozen batch norm)',
    make: () => new ResNet({ depth: 34, baseWidth: 4 }),
    run: backboneRun,
    shapes: [
      [2, 4, 16, 24],
      [2, 8, 8, 12],
      [2, 16, 4, 6],
      [2, 32, 2, 3],
    ],
  },
  {
    name: 'ResNet-50 (frozen batch norm)',
    make: () => new ResNet({ depth: 50, baseWidth: 4 }),
    run: backboneRun,
    shapes: [
      [2, 16, 16, 24],
      [2, 32, 8, 12],
      [2, 64, 4, 6],
      [2, 128, 2, 3],
    ],
  },
  {
    name: 'SmallCnn',
    make: () => new SmallCnn({ widths: [8, 12, 16, 20] }),
    run: backboneRun,
    shapes: [
      [2, 8, 16, 24],
      [2, 12, 8, 12],
      [2, 16, 4, 6],
      [2, 20, 2, 3],
    ],
  },
  {
    name: 'MSDeformPixelDecoder',
    make: () =>
      new MSDeformPixelDecoder({
        inputShapes: specs([6, 8, 10, 12]),
        convDim: 16,
        maskDim: 12,
        encoderLayers: 2,
        heads: 2,
        dimFeedforward: 24,
        points: 2,
      }),
    run: (m) => {
      const o = (m as MSDeformPixelDecoder).forward(inputs(2, () => features([6, 8, 10, 12], 2, 64, 96)));
      return [o.maskFeatures, ...o.multiScale, ...o.multiScalePos];
    },
    shapes: [
      [2, 12, 16, 24],
      [2, 16, 2, 3],
      [2, 16, 4, 6],
      [2, 16, 8, 12],
      [2, 16, 2, 3],
      [2, 16, 4, 6],
      [2, 16, 8, 12],
    ],
  },
  {
    name: 'FpnPixelDecoder',
    make: () => new FpnPixelDecoder({ inputShapes: specs([6, 8, 10, 12]), convDim: 16, maskDim: 12 }),
    run: (m) => {
      const o = (m as FpnPixelDecoder).forward(inputs(2, () => features([6, 8, 10, 12], 2, 64, 96)));
      return [o.maskFeatures, ...o.multiScale];
    },
    shapes: [
      [2, 12, 16, 24],
      [2, 16, 2, 3],
      [2, 16, 4, 6],
      [2, 16, 8, 12],
    ],
  },
  {
    name: 'MaskedTransformerDecoder',
    make: () =>
      new MaskedTransformerDecoder({
        inChannels: 16,
        numClasses: 3,
        hiddenDim: 16,
        numQueries: 5,
        nHeads: 2,
        dimFeedforward: 24,
        decLayers: 3,
        maskDim: 12,
        promptDim: 8,
      }),
    run: (m) => {
      const { ms, mf } = inputs(3, () => ({
        ms: [torch.randn([2, 16, 2, 3]), torch.randn([2, 16, 4, 6]), torch.randn([2, 16, 8, 12])],
        mf: torch.randn([2, 12, 16, 24]),
      }));
      const preds = (m as MaskedTransformerDecoder).forward(ms, mf);
      assert.equal(preds.length, 4);
      return preds.flatMap((p) => [p.predLogits, p.predMasks, p.predPrompts.point, p.predPrompts.box]);
    },
    shapes: Array.from({ length: 4 }, () => [
      [2, 5, 4],
      [2, 5, 16, 24],
      [2, 5, 2, 8],
      [2, 5, 2, 8],
    ]).flat(),
  },
  {
    name: 'WishModel (tiny)',
    make: () => buildModel(tinyModel),
    run: (m) => {
      const o = (m as ReturnType<typeof buildModel>).forward(inputs(4, () => torch.randn([2, 3, 64, 96])));
      assert.equal(o.aux.length, 4);
      return [
        o.predLogits,
        o.predMasks,
        o.predPrompts.point,
        o.predPrompts.box,
        o.camMaps,
        o.camLogits,
        ...o.aux.flatMap((p) => [p.predLogits, p.predMasks]),
      ];
    },
    shapes: [
      [2, 5, 4],
      [2, 5, 16, 24],
      [2, 5, 2, 8],
      [2, 5, 2, 8],
      [2, 3, 4, 6],
      [2, 3],
      ...Array.from({ length: 4 }, () => [
        [2, 5, 4],
        [2, 5, 16, 24],
      ]).flat(),
    ],
  },
];

const dir = mkdtempSync(join(tmpdir(), 'wish-model-contract-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

for (const part of PARTS) {
  test(`${part.name}: shapes, gradients reach every parameter, state-dict round trip`, async () => {
    torch.manualSeed(10);
    const m = part.make();
    // (1) shapes and (2) gradients of a random weighting of every output
    torch.tidy(() => {
      const outs = part.run(m);
      assert.deepEqual(
        outs.map((t) => t.shape),
        part.shapes,
      );
      let loss = torch.zeros([]);
      for (const t of outs) loss = loss.add(t.mul(inputs(5, () => torch.randn(t.shape))).mean());
      loss.backward();
    });
    const params = m.namedParameters().filter(([, p]) => p.requiresGrad);
    assert.ok(params.length > 0);
    for (const [name, p] of params) {
      const g = p.grad;
      assert.ok(g !== null, `${part.name}: no gradient for ${name}`);
      assert.ok(
        torch.tidy(() => g.isfinite().all().item()) === 1,
        `${part.name}: non-finite gradient for ${name}`,
      );
      g.dispose();
    }
    m.zeroGrad();

    // (3) round trip into a differently initialised instance; compare in eval mode (running statistics)
    m.eval();
    const file = join(dir, `${part.name.replace(/\W+/g, '_')}.safetensors`);
    await saveSafetensors(file, m.stateDict());
    torch.manualSeed(11);
    const fresh = part.make();
    fresh.eval();
    const sd = await loadSafetensors(file);
    fresh.loadStateDict(sd);
    torch.dispose(sd);
    torch.tidy(() => {
      const { result: a, uploads } = countHostUploads(() => torch.noGrad(() => part.run(m)));
      assert.equal(uploads, 0, `${part.name}: ${uploads} tensors made from host data after the first run`);
      const b = torch.noGrad(() => part.run(fresh));
      a.forEach((t, i) =>
        assert.equal(t.sub(b[i]).abs().max().item(), 0, `${part.name}: output ${i} differs`),
      );
    });
    m.dispose();
    fresh.dispose();
  });
}

test('frozen parts get no gradient: FrozenBatchNorm2d has buffers only; freezeAt freezes the stem and res2', () => {
  const net = new ResNet({ depth: 18, baseWidth: 4, freezeAt: 2 });
  const trainable = net
    .namedParameters()
    .filter(([, p]) => p.requiresGrad)
    .map(([k]) => k);
  assert.ok(!trainable.some((k) => k.startsWith('conv1.') || k.startsWith('layer1.')));
  assert.ok(trainable.includes('layer2.0.conv1.weight'));
  assert.ok(!net.namedParameters().some(([k]) => k.includes('bn')));
  net.dispose();
});

test('configs: shipped ones validate and build; bad values are reported by key', () => {
  for (const [name, c] of Object.entries(MODEL_CONFIGS)) assert.doesNotThrow(() => parseModelConfig(c, name));
  const p = parseModelConfig(paper);
  assert.equal(p.backbone.kind, 'resnet');
  assert.equal(p.decoder.layers, 9);
  assert.equal(p.decoder.numQueries, 100);
  const bad = { ...cpuSmall, decoder: { ...cpuSmall.decoder, nHeads: 5 }, inputSize: 100 };
  assert.throws(
    () => parseModelConfig(bad, 'my.json'),
    (e: Error) =>
      /my\.json/.test(e.message) && /decoder\.nHeads/.test(e.message) && /inputSize/.test(e.message),
  );
  assert.throws(
    () => parseModelConfig({ ...cpuSmall, backbone: { kind: 'small-cnn', widths: [8, 8] } }),
    /backbone\.widths/,
  );
  assert.throws(() => parseModelConfig({ ...cpuSmall, pixelDecoder: { kind: 'unet' } }), /pixelDecoder/);
});

test('the paper config builds Mask2Former-R50 sized (about 44M parameters, 100 queries, 9 layers)', () => {
  const m = buildModel(paper);
  const n = m.numParameters();
  assert.ok(n > 40e6 && n < 50e6, `${n} parameters`);
  assert.equal(m.predictor.crossLayers.length, 9);
  assert.equal(m.numQueries, 100);
  assert.ok('backbone.layer4.2.conv3.weight' in m.stateDict());
  m.dispose();
});

test('a training step inside tidy leaves no tensors behind (steady live-tensor count)', () => {
  torch.manualSeed(12);
  const model = buildModel(tinyModel);
  const images = torch.randn([2, 3, 64, 64]);
  const step = (): number => {
    torch.tidy(() => {
      const o = model.forward(images);
      let loss = o.camLogits.sum().add(o.predPrompts.box.mean());
      for (const p of [o, ...o.aux]) loss = loss.add(p.predMasks.mean()).add(p.predLogits.mean());
      loss.backward();
    });
    model.zeroGrad();
    return torch.memory().liveTensors;
  };
  step();
  const after1 = step();
  const after3 = (step(), step());
  assert.equal(after3, after1);
  images.dispose();
  model.dispose();
});
