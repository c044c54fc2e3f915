// Loading SAM checkpoints: the official .pth, a Hugging Face-named safetensors copy, and key errors.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as torch from '../../src/engine/index.ts';
import { saveSafetensors } from '../../src/engine/io/checkpoint.ts';
import { loadSamStateDict } from '../../src/sam/load.ts';
import { hasSamFixture, SAM_FIXTURE } from './fixture.ts';

const skip = hasSamFixture ? false : 'SAM fixture not found at ../shared/fixtures/sam';
const PTH = join(SAM_FIXTURE, 'tiny_sam.pth');
const CFG = join(SAM_FIXTURE, 'tiny_sam_config.json');

// Official -> Hugging Face SamModel names, written out independently of the loader's reverse mapping:
// every rename transformers' convert_sam_to_hf.py applies, as a table.
function toHfName(k: string): string[] {
  if (k === 'prompt_encoder.pe_layer.positional_encoding_gaussian_matrix')
    return [
      'shared_image_embedding.positional_embedding',
      'prompt_encoder.shared_embedding.positional_embedding',
    ];
  const table: [RegExp, string][] = [
    [/^image_encoder\.patch_embed\.proj\./, 'vision_encoder.patch_embed.projection.'],
    [/^image_encoder\.blocks\.(\d+)\.norm(\d)\./, 'vision_encoder.layers.$1.layer_norm$2.'],
    [/^image_encoder\.blocks\./, 'vision_encoder.layers.'],
    [/^image_encoder\.neck\.0\./, 'vision_encoder.neck.conv1.'],
    [/^image_encoder\.neck\.1\./, 'vision_encoder.neck.layer_norm1.'],
    [/^image_encoder\.neck\.2\./, 'vision_encoder.neck.conv2.'],
    [/^image_encoder\.neck\.3\./, 'vision_encoder.neck.layer_norm2.'],
    [/^image_encoder\./, 'vision_encoder.'],
    [/^prompt_encoder\.point_embeddings\./, 'prompt_encoder.point_embed.'],
    [/^prompt_encoder\.mask_downscaling\.0\./, 'prompt_encoder.mask_embed.conv1.'],
    [/^prompt_encoder\.mask_downscaling\.1\./, 'prompt_encoder.mask_embed.layer_norm1.'],
    [/^prompt_encoder\.mask_downscaling\.3\./, 'prompt_encoder.mask_embed.conv2.'],
    [/^prompt_encoder\.mask_downscaling\.4\./, 'prompt_encoder.mask_embed.layer_norm2.'],
    [/^prompt_encoder\.mask_downscaling\.6\./, 'prompt_encoder.mask_embed.conv3.'],
    [
      /^mask_decoder\.transformer\.layers\.(\d+)\.norm(\d)\./,
      'mask_decoder.transformer.layers.$1.layer_norm$2.',
    ],
    [/^mask_decoder\.transformer\.norm_final_attn\./, 'mask_decoder.transformer.layer_norm_final_attn.'],
    [/^mask_decoder\.output_upscaling\.0\./, 'mask_decoder.upscale_conv1.'],
    [/^mask_decoder\.output_upscaling\.1\./, 'mask_decoder.upscale_layer_norm.'],
    [/^mask_decoder\.output_upscaling\.3\./, 'mask_decoder.upscale_conv2.'],
    [
      /^mask_decoder\.output_hypernetworks_mlps\.(\d+)\.layers\.0\./,
      'mask_decoder.output_hypernetworks_mlps.$1.proj_in.',
    ],
    [
      /^mask_decoder\.output_hypernetworks_mlps\.(\d+)\.layers\.1\./,
      'mask_decoder.output_hypernetworks_mlps.$1.layers.0.',
    ],
    [
      /^mask_decoder\.output_hypernetworks_mlps\.(\d+)\.layers\.2\./,
      'mask_decoder.output_hypernetworks_mlps.$1.proj_out.',
    ],
    [/^mask_decoder\.iou_prediction_head\.layers\.0\./, 'mask_decoder.iou_prediction_head.proj_in.'],
    [/^mask_decoder\.iou_prediction_head\.layers\.1\./, 'mask_decoder.iou_prediction_head.layers.0.'],
    [/^mask_decoder\.iou_prediction_head\.layers\.2\./, 'mask_decoder.iou_prediction_head.proj_out.'],
  ];
  for (const [re, to] of table) if (re.test(k)) return [k.replace(re, to)];
  return [k];
}

test('official tiny .pth: 202 tensors, official keys, config from shapes + JSON', { skip }, async () => {
  const r = await loadSamStateDict(PTH, { config: CFG });
  assert.equal(r.format, 'pth');
  assert.equal(r.keyNames, 'official');
  assert.equal(Object.keys(r.stateDict).length, 202);
  assert.equal(r.config.decoderNumHeads, 2); // from the JSON: shapes cannot say it
  assert.equal(r.config.windowSize, 6);
  assert.deepEqual(r.stateDict['image_encoder.blocks.0.attn.rel_pos_h'].shape, [11, 16]);
  torch.dispose(r.stateDict);
});

test('Hugging Face-named safetensors load to the same official state dict', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sam-load-'));
  try {
    const ref = await loadSamStateDict(PTH, { config: CFG });
    const hf: Record<string, torch.Tensor> = {};
    for (const [k, t] of Object.entries(ref.stateDict)) for (const n of toHfName(k)) hf[n] = t;
    assert.ok(Object.keys(hf).every((k) => !k.startsWith('image_encoder.')));
    const file = join(dir, 'model.safetensors');
    await saveSafetensors(file, hf);
    const got = await loadSamStateDict(file, { config: CFG });
    assert.equal(got.format, 'safetensors');
    assert.equal(got.keyNames, 'huggingface');
    assert.deepEqual(Object.keys(got.stateDict).sort(), Object.keys(ref.stateDict).sort());
    for (const [k, t] of Object.entries(ref.stateDict))
      assert.ok(torch.allclose(got.stateDict[k], t, 0, 0), k);
    assert.deepEqual(got.config, ref.config);
    torch.dispose([ref.stateDict, got.stateDict]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('one error names every missing, unexpected and mis-shaped key', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sam-load-'));
  try {
    const ref = await loadSamStateDict(PTH, { config: CFG });
    const sd = { ...ref.stateDict };
    delete sd['mask_decoder.iou_token.weight'];
    delete sd['prompt_encoder.no_mask_embed.weight'];
    sd['mask_decoder.extra.weight'] = torch.zeros([3]);
    sd['image_encoder.neck.1.bias'] = torch.zeros([65]);
    const file = join(dir, 'bad.safetensors');
    await saveSafetensors(file, sd);
    await assert.rejects(loadSamStateDict(file, { config: CFG }), (e: Error) => {
      assert.match(e.message, /bad\.safetensors/);
      assert.match(e.message, /missing keys \(2\)/);
      assert.match(e.message, /mask_decoder\.iou_token\.weight/);
      assert.match(e.message, /prompt_encoder\.no_mask_embed\.weight/);
      assert.match(e.message, /unexpected keys \(1\):\n\s+mask_decoder\.extra\.weight/);
      assert.match(e.message, /image_encoder\.neck\.1\.bias: file \[65\], model \[64\]/);
      return true;
    });
    torch.dispose(ref.stateDict);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'config JSON contradicting the weights, truncated files and missing files are named',
  { skip },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sam-load-'));
    try {
      await assert.rejects(
        loadSamStateDict(PTH, { config: { encoderEmbedDim: 96, decoderNumHeads: 2 } }),
        /key 'encoder_embed_dim': config says 96, the weights' shapes say 64/,
      );
      const cut = join(dir, 'cut.pth');
      const { readFile } = await import('node:fs/promises');
      await writeFile(cut, (await readFile(PTH)).subarray(0, 5000));
      await assert.rejects(loadSamStateDict(cut), /cut\.pth/);
      await writeFile(join(dir, 'junk.bin'), 'hello world');
      await assert.rejects(loadSamStateDict(join(dir, 'junk.bin')), /neither a torch\.save zip archive/);
      await assert.rejects(
        loadSamStateDict(join(dir, 'nope.pth')),
        /nope\.pth: no such file|nope\.pth.*no such file/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test('a DataParallel save ("module." on every key) loads under the official names', { skip }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sam-load-'));
  try {
    const ref = await loadSamStateDict(PTH, { config: CFG });
    const prefixed = Object.fromEntries(Object.entries(ref.stateDict).map(([k, t]) => [`module.${k}`, t]));
    const file = join(dir, 'dp.safetensors');
    await saveSafetensors(file, prefixed);
    const got = await loadSamStateDict(file, { config: CFG });
    assert.deepEqual(Object.keys(got.stateDict).sort(), Object.keys(ref.stateDict).sort());
    torch.dispose([ref.stateDict, got.stateDict]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
