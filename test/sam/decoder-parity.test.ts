// Prompt encoder + mask decoder against the official SamPredictor's outputs, starting from the fixture's
// image embeddings (no image encoder involved): every prompt case of the manifest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { loadPth } from '../../src/engine/io/checkpoint.ts';
import type { StateDict } from '../../src/engine/nn/index.ts';
import { buildMaskDecoder, buildPromptEncoder } from '../../src/sam/build.ts';
import { subStateDict } from '../../src/sam/load.ts';
import { parseSamConfigJson, samPreset, type SamConfig } from '../../src/sam/config.ts';
import type { MaskDecoder } from '../../src/sam/mask-decoder.ts';
import type { PromptEncoder } from '../../src/sam/prompt-encoder.ts';
import {
  ErrorLog,
  TINY_SAM_PTH,
  caseKey,
  manifest,
  maxAbsDiff,
  readRaw,
  readTensor,
} from './parity-fixture.ts';

const log = new ErrorLog();
let pe: PromptEncoder;
let dec: MaskDecoder;

before(async () => {
  const cfg: SamConfig = { ...samPreset('vit_b'), ...parseSamConfigJson(manifest.config) };
  const sd: StateDict = await loadPth(TINY_SAM_PTH);
  pe = buildPromptEncoder(cfg);
  dec = buildMaskDecoder(cfg);
  pe.loadStateDict(subStateDict(sd, 'prompt_encoder'));
  dec.loadStateDict(subStateDict(sd, 'mask_decoder'));
  pe.eval();
  dec.eval();
  torch.dispose(sd);
});
after(() => log.print('decoder parity'));

const f32 = (t: torch.Tensor): Float32Array => t.toFloat32Array();

for (const c of manifest.cases) {
  test(`decoder parity: ${caseKey(c)}`, () => {
    torch.noGrad(() =>
      torch.tidy(() => {
        const key = caseKey(c);
        const img = manifest.images[c.image];
        const emb = readTensor(img.tensors.image_embeddings);
        // Prompts: the fixture's transformed coordinates are the input-frame ones the encoder takes.
        const points = c.point_coords
          ? {
              coords: readTensor(`${key}/point_coords_transformed`).unsqueeze(0),
              labels: torch.tensor([c.point_labels!], { dtype: 'int32' }),
            }
          : null;
        const boxes = c.box ? readTensor(`${key}/box_transformed`) : null;
        const masks = c.mask_input ? readTensor(`${key}/mask_input`).unsqueeze(0) : null;
        const { sparse, dense } = pe.forward({ points, boxes, masks });
        const densePe = pe.getDensePe();
        const e = {
          dense_pe: log.note('dense_pe', maxAbsDiff(f32(densePe), readRaw(img.tensors.dense_pe).data)),
          sparse: log.note('sparse', maxAbsDiff(f32(sparse), readRaw(`${key}/sparse_embeddings`).data)),
          dense: log.note('dense', maxAbsDiff(f32(dense), readRaw(`${key}/dense_embeddings`).data)),
        };
        assert.deepEqual(sparse.shape, manifest.tensors[`${key}/sparse_embeddings`].shape);
        assert.ok(e.dense_pe < 1e-4 && e.sparse < 1e-4 && e.dense < 1e-4, JSON.stringify(e));

        const trace = dec.predictMasks({
          imageEmbeddings: emb,
          imagePe: densePe,
          sparsePromptEmbeddings: sparse,
          densePromptEmbeddings: dense,
        });
        const checks: [string, torch.Tensor, string, number][] = [
          ['decoder_tokens', trace.tokens, 'tokens', 1e-4],
          ['transformer_hs', trace.hs, 'hs', 1e-3],
          ['transformer_src', trace.src, 'src', 1e-3],
          ['upscaled_embedding', trace.upscaled, 'upscaled', 1e-3],
          ['iou_predictions_all_tokens', trace.iouPred, 'iou_all', 1e-4],
        ];
        for (const [name, t, kind, tol] of checks) {
          const want = readRaw(`${key}/${name}`);
          assert.deepEqual(t.shape, want.shape, name);
          const err = log.note(kind, maxAbsDiff(f32(t), want.data));
          assert.ok(err < tol, `${name}: max abs error ${err}`);
        }
        const { masks: low, iouPred } = dec.forward(
          {
            imageEmbeddings: emb,
            imagePe: densePe,
            sparsePromptEmbeddings: sparse,
            densePromptEmbeddings: dense,
          },
          c.multimask_output,
        );
        const lowErr = log.note(
          'low_res_logits',
          maxAbsDiff(f32(low), readRaw(`${key}/low_res_logits`).data),
        );
        const iouErr = log.note('iou', maxAbsDiff(f32(iouPred), readRaw(`${key}/iou_predictions`).data));
        assert.ok(lowErr < 1e-3, `low-res logits: ${lowErr}`);
        assert.ok(iouErr < 1e-4, `iou: ${iouErr}`);
      }),
    );
  });
}
