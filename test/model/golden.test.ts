// The model's blocks against torch 1.13 (fixtures written by scripts/make-model-fixtures.py): torchvision
// ResNets (reduced width, torchvision's own block classes), the multi-scale deformable attention core,
// layer and encoder layer, and a whole masked-attention decoder with class, mask and prompt heads. The
// weights come from Python through the restricted .pth loader and strict loadStateDict, so key names are
// checked too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import { loadPth } from '../../src/engine/io/checkpoint.ts';
import { Module } from '../../src/engine/nn/index.ts';
import { ResNet, loadTorchvisionResNet, loadTorchvisionResNetFile } from '../../src/model/backbone/resnet.ts';
import { SmallCnn } from '../../src/model/backbone/small-cnn.ts';
import { CamHead } from '../../src/model/heads/cam-head.ts';
import { FpnPixelDecoder } from '../../src/model/pixel-decoder/fpn.ts';
import { DeformableEncoderLayer } from '../../src/model/pixel-decoder/deformable-encoder.ts';
import {
  MSDeformAttn,
  encoderReferencePoints,
  msDeformAttnCore,
} from '../../src/model/pixel-decoder/ms-deform-attn.ts';
import { MSDeformPixelDecoder } from '../../src/model/pixel-decoder/msdeform-pixel-decoder.ts';
import { MaskedTransformerDecoder } from '../../src/model/transformer-decoder.ts';

const fixture = (name: string): string => new URL(`../fixtures/model/${name}`, import.meta.url).pathname;

function maxDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  return a.sub(b).abs().max().item();
}
function close(a: Tensor, b: Tensor, tol: number, what: string): void {
  const d = torch.tidy(() => maxDiff(a, b));
  if (process.env.WISH_SHOW_DIFF) console.log(`${what}: ${d.toExponential(2)}`);
  assert.ok(d <= tol, `${what}: max |difference| ${d} > ${tol}`);
}
function prefixed(sd: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(sd)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

test('torchvision resnet18 / resnet50 state dicts (full size) load strictly, fc dropped', () => {
  const keys = JSON.parse(readFileSync(fixture('torchvision-resnet-keys.json'), 'utf8')) as Record<
    string,
    Record<string, number[]>
  >;
  for (const [name, depth] of [
    ['resnet18', 18],
    ['resnet50', 50],
  ] as const) {
    torch.tidy(() => {
      const net = new ResNet({ depth });
      const sd: Record<string, Tensor> = {};
      for (const [k, shape] of Object.entries(keys[name]))
        sd[k] = torch.full(shape, 0.5, { dtype: k.endsWith('num_batches_tracked') ? 'int64' : 'float32' });
      loadTorchvisionResNet(net, sd, name);
      assert.equal(net.stateDict()['layer4.1.bn2.running_var'].mean().item(), 0.5);
      // a missing key is an error that names it
      delete sd['layer1.0.conv1.weight'];
      assert.throws(() => loadTorchvisionResNet(net, sd, name), /layer1\.0\.conv1\.weight/);
      net.dispose();
    });
  }
});

for (const [name, depth] of [
  ['resnet18_w8', 18],
  ['resnet50_w4', 50],
] as const) {
  test(`${name}: torchvision checkpoint loads and res2..res5 match torch (eval BN = frozen BN)`, async () => {
    const sd = await loadPth(fixture(`${name}.pth`));
    const io = await loadPth(fixture(`${name}_io.pth`));
    const baseWidth = depth === 18 ? 8 : 4;
    for (const norm of ['frozen', 'batch'] as const) {
      const net = new ResNet({ depth, baseWidth, norm });
      loadTorchvisionResNet(net, sd, `${name}.pth`);
      net.eval();
      torch.tidy(() => {
        const feats = torch.noGrad(() => net.forward(io.input));
        for (const k of ['res2', 'res3', 'res4', 'res5'] as const)
          close(feats[k], io[k], 1e-4, `${name} ${norm} ${k}`);
      });
      net.dispose();
    }
    // the file helper gives the same weights; a depth mismatch names the file and the offending keys
    const net = new ResNet({ depth, baseWidth });
    await loadTorchvisionResNetFile(net, fixture(`${name}.pth`));
    assert.equal(
      torch.tidy(() =>
        net.stateDict()['layer1.0.conv1.weight'].sub(sd['layer1.0.conv1.weight']).abs().max().item(),
      ),
      0,
    );
    const wrong = new ResNet({ depth: depth === 18 ? 34 : 18, baseWidth: depth === 18 ? 8 : 4 });
    await assert.rejects(
      loadTorchvisionResNetFile(wrong, fixture(`${name}.pth`)),
      (e: Error) => e.message.includes(`${name}.pth`) && /keys/.test(e.message),
    );
    for (const m of [net, wrong]) m.dispose();
    torch.dispose([sd, io]);
  });
}

test('small CNN backbone (eval BN), FPN pixel decoder and CAM head match torch', async () => {
  const state = await loadPth(fixture('small.pth'), { key: 'state' });
  const io = await loadPth(fixture('small.pth'), { key: 'io' });
  const cnn = new SmallCnn({ widths: [6, 8, 10, 12], depth: 2, stemWidth: 4 });
  cnn.loadStateDict(prefixed(state, 'cnn.'));
  cnn.eval();
  const fpn = new FpnPixelDecoder({ inputShapes: cnn.outputShapes, convDim: 16, maskDim: 12 });
  fpn.loadStateDict(prefixed(state, 'fpn.'));
  const cam = new CamHead(12, 3);
  cam.loadStateDict(prefixed(state, 'cam.'));
  torch.tidy(() =>
    torch.noGrad(() => {
      const feats = cnn.forward(io.input);
      for (const k of ['res2', 'res3', 'res4', 'res5'] as const)
        close(feats[k], io[k], 1e-4, `small CNN ${k}`);
      const out = fpn.forward(feats);
      close(out.maskFeatures, io.mask_features, 1e-4, 'FPN mask features');
      out.multiScale.forEach((t, i) => close(t, io[`ms${i}`], 1e-4, `FPN multi-scale ${i}`));
      const c = cam.forward(feats.res5);
      close(c.camMaps, io.cam_maps, 1e-5, 'CAM maps');
      close(c.camLogits, io.cam_logits, 1e-5, 'CAM logits');
    }),
  );
  for (const m of [cnn, fpn, cam] as Module[]) m.dispose();
  torch.dispose([state, io]);
});

test('msDeformAttnCore matches the grid_sample formulation in torch, values and gradients (points outside included)', async () => {
  const io = await loadPth(fixture('msdeform.pth'), { key: 'io' });
  const shapes: [number, number][] = [
    [4, 5],
    [2, 3],
  ];
  torch.tidy(() => {
    const [value, locations, weights] = [io.value, io.locations, io.weights].map((t) =>
      t.clone().requiresGrad_(),
    );
    const out = msDeformAttnCore(value, shapes, locations, weights);
    close(out, io.core, 1e-5, 'core');
    out.mul(io.core_r).sum().backward();
    close(value.grad!, io.grad_value, 1e-5, 'd/d value');
    close(locations.grad!, io.grad_locations, 1e-4, 'd/d sampling locations');
    close(weights.grad!, io.grad_weights, 1e-5, 'd/d attention weights');
    // encoder reference points equal the reference's meshgrid construction
    close(encoderReferencePoints(shapes), io.reference, 1e-6, 'reference points');
  });
  torch.dispose(io);
});

test('MSDeformAttn layer and deformable encoder layer match torch', async () => {
  const state = await loadPth(fixture('msdeform.pth'), { key: 'state' });
  const io = await loadPth(fixture('msdeform.pth'), { key: 'io' });
  const shapes: [number, number][] = [
    [4, 5],
    [2, 3],
  ];
  const attn = new MSDeformAttn({ dModel: 16, nLevels: 2, nHeads: 2, nPoints: 2 });
  attn.loadStateDict(prefixed(state, 'attn.'));
  const layer = new DeformableEncoderLayer({
    dModel: 16,
    nHeads: 2,
    nLevels: 2,
    nPoints: 2,
    dimFeedforward: 24,
    numLayers: 1,
  });
  layer.loadStateDict(prefixed(state, 'layer.'));
  torch.tidy(() => {
    close(attn.forward(io.query, io.reference, io.input, shapes), io.attn_out, 1e-5, 'MSDeformAttn');
    close(layer.forward(io.input, io.pos, io.reference, shapes), io.layer_out, 1e-5, 'encoder layer');
  });
  for (const m of [attn, layer] as Module[]) m.dispose();
  torch.dispose([state, io]);
});

test('MSDeformPixelDecoder (projections, 2 encoder layers, FPN level, mask features) matches torch', async () => {
  const state = await loadPth(fixture('pixel_decoder.pth'), { key: 'state' });
  const io = await loadPth(fixture('pixel_decoder.pth'), { key: 'io' });
  const pd = new MSDeformPixelDecoder({
    inputShapes: {
      res2: { channels: 6, stride: 4 },
      res3: { channels: 8, stride: 8 },
      res4: { channels: 10, stride: 16 },
      res5: { channels: 12, stride: 32 },
    },
    convDim: 16,
    maskDim: 12,
    encoderLayers: 2,
    heads: 2,
    dimFeedforward: 24,
    points: 2,
  });
  pd.loadStateDict(state);
  torch.tidy(() => {
    const out = torch.noGrad(() =>
      pd.forward({ res2: io.res2, res3: io.res3, res4: io.res4, res5: io.res5 }),
    );
    close(out.maskFeatures, io.mask_features, 1e-4, 'mask features');
    out.multiScale.forEach((t, i) => close(t, io[`ms${i}`], 1e-4, `multi-scale ${i}`));
  });
  pd.dispose();
  torch.dispose([state, io]);
});

test('masked-attention decoder: every stage of class, mask and prompt predictions, and all gradients, match torch', async () => {
  const state = await loadPth(fixture('decoder.pth'), { key: 'state' });
  const io = await loadPth(fixture('decoder.pth'), { key: 'io' });
  const dec = new MaskedTransformerDecoder({
    inChannels: 16,
    numClasses: 3,
    hiddenDim: 16,
    numQueries: 6,
    nHeads: 2,
    dimFeedforward: 32,
    decLayers: 4,
    maskDim: 8,
    promptDim: 4,
  });
  dec.loadStateDict(state);
  assert.ok(io.full_rows.item() > 0, 'the fixture exercises the all-masked-row rule');
  torch.tidy(() => {
    const inputs = [io.x0, io.x1, io.x2, io.mask_features].map((t) => t.clone().requiresGrad_());
    const preds = dec.forward(inputs.slice(0, 3), inputs[3]);
    assert.equal(preds.length, 5);
    let loss = torch.zeros([]);
    preds.forEach((p, i) => {
      const outs = {
        logits: p.predLogits,
        masks: p.predMasks,
        point: p.predPrompts.point,
        box: p.predPrompts.box,
      };
      for (const [name, t] of Object.entries(outs)) {
        close(t, io[`${name}${i}`], 1e-4, `${name} ${i}`);
        loss = loss.add(t.mul(io[`r_${name}${i}`]).sum());
      }
    });
    loss.backward();
    inputs.forEach((t, i) => close(t.grad!, io[`grad_in${i}`], 1e-4, `d/d input ${i}`));
    const params = dec.namedParameters();
    assert.equal(params.length, Object.keys(io).filter((k) => k.startsWith('grad.')).length);
    for (const [name, p] of params) close(p.grad!, io[`grad.${name}`], 1e-4, `d/d ${name}`);
  });
  dec.dispose();
  torch.dispose([state, io]);
});
