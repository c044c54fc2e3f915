// Contract of the decoder side for every SAM size: the prompt encoder and mask decoder built from each
// official preset have exactly the official checkpoints' prompt_encoder.* / mask_decoder.* keys and
// shapes; a backward pass reaches every parameter; a state-dict round trip reproduces the outputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { buildMaskDecoder, buildPromptEncoder } from '../../src/sam/build.ts';
import { parseSamConfigJson, samPreset, type SamConfig, type SamPresetName } from '../../src/sam/config.ts';
import { SAM_FIXTURE, maxAbsDiff } from './fixture.ts';

const official = JSON.parse(
  readFileSync(join(SAM_FIXTURE, 'official_state_dict_shapes.json'), 'utf8'),
) as Record<SamPresetName, { keys: Record<string, number[]> }>;

for (const name of ['vit_b', 'vit_l', 'vit_h'] as const) {
  test(`${name}: prompt encoder and mask decoder keys and shapes equal the official checkpoint's`, () => {
    const cfg = samPreset(name);
    const parts = { prompt_encoder: buildPromptEncoder(cfg), mask_decoder: buildMaskDecoder(cfg) };
    const ours: Record<string, number[]> = {};
    for (const [prefix, m] of Object.entries(parts)) {
      for (const [k, t] of Object.entries(m.stateDict())) ours[`${prefix}.${k}`] = t.shape;
    }
    const want = Object.fromEntries(
      Object.entries(official[name].keys).filter(
        ([k]) => k.startsWith('prompt_encoder.') || k.startsWith('mask_decoder.'),
      ),
    );
    assert.deepEqual(ours, want);
    // Same order as the official state dict, too (a checkpoint written from ours reads like theirs).
    assert.deepEqual(Object.keys(ours), Object.keys(want));
    for (const m of Object.values(parts)) m.dispose();
  });
}

const tiny: SamConfig = {
  ...samPreset('vit_b'),
  ...parseSamConfigJson({
    img_size: 64,
    prompt_embed_dim: 32,
    decoder_mlp_dim: 48,
    decoder_num_heads: 2,
    iou_head_hidden_dim: 16,
  }),
};

test('backward reaches every prompt-encoder and mask-decoder parameter; state-dict round trip', () => {
  torch.manualSeed(5);
  const pe = buildPromptEncoder(tiny);
  const dec = buildMaskDecoder(tiny);
  const [h, w] = pe.imageEmbeddingSize;
  const emb = torch.randn([1, 32, h, w]);
  const run = (p: typeof pe, d: typeof dec, withMask: boolean): torch.Tensor => {
    const { sparse, dense } = p.forward({
      points: {
        coords: torch.tensor([
          [
            [10, 20],
            [40, 5],
          ],
        ]),
        labels: torch.tensor([[1, 0]]),
      },
      boxes: withMask ? torch.tensor([[4, 4, 50, 60]]) : null,
      masks: withMask ? torch.randn([1, 1, 4 * h, 4 * w]) : null,
    });
    const pad = withMask
      ? null
      : p.forward({ points: { coords: torch.zeros([1, 1, 2]), labels: torch.tensor([[-1]]) } });
    const sp = pad ? torch.cat([sparse, pad.sparse], 1) : sparse;
    const r = d.forward(
      {
        imageEmbeddings: emb,
        imagePe: p.getDensePe(),
        sparsePromptEmbeddings: sp,
        densePromptEmbeddings: dense,
      },
      true,
    );
    const all = d.predictMasks({
      imageEmbeddings: emb,
      imagePe: p.getDensePe(),
      sparsePromptEmbeddings: sp,
      densePromptEmbeddings: dense,
    });
    // token 0 is only reachable through the single-mask output: include it via predictMasks
    return r.masks
      .square()
      .mean()
      .add(r.iouPred.sum())
      .add(all.masks.select(1, 0).mean())
      .add(all.iouPred.sum());
  };
  run(pe, dec, true)
    .add(run(pe, dec, false))
    .backward();
  const missing = [
    ...pe.namedParameters('prompt_encoder').filter(([, t]) => t.grad === null),
    ...dec.namedParameters('mask_decoder').filter(([, t]) => t.grad === null),
  ].map(([k]) => k);
  assert.deepEqual(missing, []);

  const pe2 = buildPromptEncoder(tiny);
  const dec2 = buildMaskDecoder(tiny);
  pe2.loadStateDict(pe.stateDict());
  dec2.loadStateDict(dec.stateDict());
  torch.noGrad(() => {
    torch.manualSeed(9);
    const a = run(pe, dec, true).item();
    torch.manualSeed(9);
    const b = run(pe2, dec2, true).item();
    assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  });
  assert.ok(maxAbsDiff(pe.getDensePe().toFloat32Array(), pe2.getDensePe().toFloat32Array()) === 0);
  for (const m of [pe, dec, pe2, dec2]) m.dispose();
});
