// SamConfig: presets, the config JSON reader, and inference from state-dict shapes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  inferSamConfig,
  inferSamConfigDetailed,
  parseSamConfigJson,
  SAM_PRESETS,
  samConfigToJson,
  samPreset,
  type SamPresetName,
} from '../../src/sam/config.ts';
import { expectedSamShapes } from '../../src/sam/state-dict-keys.ts';
import { hasSamFixture, SAM_FIXTURE } from './fixture.ts';

const skip = hasSamFixture ? false : 'SAM fixture not found at ../shared/fixtures/sam';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixture JSON, read field by field below
const readJson = (f: string): any => JSON.parse(readFileSync(join(SAM_FIXTURE, f), 'utf8'));

for (const name of ['vit_b', 'vit_l', 'vit_h'] as SamPresetName[]) {
  test(
    `${name}: official shapes infer exactly the preset, and the preset implies exactly those shapes`,
    { skip },
    () => {
      const official = readJson('official_state_dict_shapes.json')[name].keys as Record<string, number[]>;
      const r = inferSamConfigDetailed(official, {}, name);
      assert.equal(r.preset, name);
      assert.deepEqual(r.config, samPreset(name));
      // what the shapes decide (everything but eps, decoder heads, pixel stats, threshold)
      for (const k of [
        'encoderNumHeads',
        'encoderGlobalAttnIndexes',
        'windowSize',
        'decoderMlpDim',
        'iouHeadHiddenDim',
      ] as const)
        assert.equal(r.from[k], 'shapes', k);
      const want = expectedSamShapes(SAM_PRESETS[name]);
      assert.deepEqual([...want.keys()], Object.keys(official)); // same keys, same order
      for (const [k, s] of want) assert.deepEqual(s, official[k], k);
    },
  );
}

test('tiny fixture: shapes + its config JSON give the config it was built with', { skip }, () => {
  const file = readJson('tiny_sam_config.json');
  const shapes = Object.fromEntries(
    file.tensors.map((t: { key: string; shape: number[] }) => [t.key, t.shape]),
  );
  const overrides = parseSamConfigJson(file, 'tiny_sam_config.json');
  const cfg = inferSamConfig(shapes, overrides);
  const json = samConfigToJson(cfg);
  for (const [k, v] of Object.entries(json)) assert.deepEqual(v, file.config[k], k);
  // without the JSON the shapes still give all sizes except the decoder heads (vit_b default 8) and eps
  const bare = inferSamConfigDetailed(shapes, {});
  assert.equal(bare.config.encoderNumHeads, 4);
  assert.deepEqual(bare.config.encoderGlobalAttnIndexes, [1, 3]);
  assert.equal(bare.config.windowSize, 6);
  assert.equal(bare.from.decoderNumHeads, 'preset');
  assert.equal(bare.config.decoderNumHeads, 8);
  assert.equal(expectedSamShapes(cfg).size, 202);
});

test('config JSON errors name the key', () => {
  assert.throws(() => parseSamConfigJson({ window_size: 'big' }, 'c.json'), /c\.json.*\n.*key 'window_size'/);
  assert.throws(
    () => parseSamConfigJson({ config: { decoder_num_heads: 0 } }, 'c.json'),
    /key 'decoder_num_heads'/,
  );
  assert.throws(
    () => parseSamConfigJson({ windw_size: 3 }, 'c.json'),
    /unknown SAM config key\(s\) 'windw_size'/,
  );
  assert.deepEqual(parseSamConfigJson({ name: 'x', seed: 1, window_size: 7 }), { windowSize: 7 });
});

test('overrides that contradict shapes or are inconsistent are rejected by key', { skip }, () => {
  const shapes = readJson('official_state_dict_shapes.json').vit_b.keys;
  assert.throws(
    () => inferSamConfig(shapes, { windowSize: 7 }),
    /key 'window_size': config says 7, the weights' shapes say 14/,
  );
  assert.throws(() => inferSamConfig(shapes, { decoderNumHeads: 7 }), /key 'decoder_num_heads'/);
  const noPos = { ...shapes };
  delete noPos['image_encoder.pos_embed'];
  assert.throws(() => inferSamConfig(noPos), /'image_encoder\.pos_embed' is missing/);
});

test('when every block has grid-sized rel_pos tables, global blocks come from the config', () => {
  // 4 blocks, grid 4, window 4: rel_pos lengths cannot tell windowed from global
  const cfg = {
    ...samPreset('vit_b'),
    imgSize: 64,
    encoderEmbedDim: 32,
    encoderDepth: 4,
    encoderNumHeads: 2,
    windowSize: 4,
    encoderGlobalAttnIndexes: [3],
  };
  const shapes = Object.fromEntries(expectedSamShapes(cfg));
  const r = inferSamConfigDetailed(shapes, { encoderGlobalAttnIndexes: [3], windowSize: 4 });
  assert.equal(r.from.encoderGlobalAttnIndexes, 'override');
  assert.deepEqual(r.config.encoderGlobalAttnIndexes, [3]);
  // vit_b's [2, 5, 8, 11] does not fit 4 blocks: the error names the key
  assert.throws(
    () => inferSamConfig(shapes, { windowSize: 4 }),
    /key 'encoder_global_attn_indexes': block 5 >= encoder_depth 4/,
  );
});
