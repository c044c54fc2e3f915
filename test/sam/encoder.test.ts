// ViT image encoder vs the official code's outputs on the tiny fixture checkpoint (both images, every block).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import * as torch from '../../src/engine/index.ts';
import { samPreset } from '../../src/sam/config.ts';
import { ImageEncoderViT } from '../../src/sam/image-encoder.ts';
import { loadSamStateDict, subStateDict } from '../../src/sam/load.ts';
import {
  relPosTable,
  ViTAttention,
  windowPartition,
  windowUnpartition,
} from '../../src/sam/vit-attention.ts';
import { hasSamFixture, maxAbsDiff, readFixture, SAM_FIXTURE } from './fixture.ts';

const skip = hasSamFixture ? false : 'SAM fixture not found at ../shared/fixtures/sam';

test(
  'image encoder matches the official per-block outputs and embeddings within 1e-4',
  { skip },
  async () => {
    const { stateDict, config } = await loadSamStateDict(join(SAM_FIXTURE, 'tiny_sam.pth'), {
      config: join(SAM_FIXTURE, 'tiny_sam_config.json'),
    });
    const enc = new ImageEncoderViT(config).eval();
    enc.loadStateDict(subStateDict(stateDict, 'image_encoder'));
    torch.dispose(stateDict);
    for (const name of ['landscape', 'portrait']) {
      const inp = readFixture(`${name}/input_tensor`);
      torch.tidy(() => {
        const x = torch.fromTypedArray(inp.data as Float32Array, inp.shape);
        const tr = torch.noGrad(() => enc.forwardWithIntermediates(x));
        const check = (label: string, t: torch.Tensor, fixture: string, tol: number): void => {
          const want = readFixture(fixture);
          assert.deepEqual(t.shape, want.shape, `${name} ${label} shape`);
          const err = maxAbsDiff(t.toFloat32Array(), want.data);
          assert.ok(err <= tol, `${name} ${label}: max abs error ${err} > ${tol}`);
        };
        check('patch_embed', tr.patchEmbed, `${name}/encoder/patch_embed`, 1e-4);
        tr.blocks.forEach((b, i) => check(`block_${i}`, b, `${name}/encoder/block_${i}`, 1e-4));
        check('image_embeddings', tr.embedding, `${name}/image_embeddings`, 1e-4);
        // forward() is the same computation without the trace
        const emb = torch.noGrad(() => enc.forward(x));
        assert.equal(maxAbsDiff(emb.toFloat32Array(), tr.embedding.toFloat32Array()), 0);
      });
    }
    enc.dispose();
  },
);

test('state-dict keys of the encoder are the official ones (vit_b shapes)', () => {
  const enc = new ImageEncoderViT({ ...samPreset('vit_b'), encoderDepth: 3, encoderGlobalAttnIndexes: [2] });
  const sd = enc.stateDict();
  assert.deepEqual(sd['pos_embed'].shape, [1, 64, 64, 768]);
  assert.deepEqual(sd['blocks.0.attn.rel_pos_h'].shape, [27, 64]);
  assert.deepEqual(sd['blocks.2.attn.rel_pos_w'].shape, [127, 64]);
  assert.deepEqual(sd['neck.2.weight'].shape, [256, 256, 3, 3]);
  assert.ok(!('neck.0.bias' in sd) && !('neck.2.bias' in sd));
  enc.dispose();
});

test('window partition pads with zeros and unpartition inverts it', () => {
  torch.tidy(() => {
    const x = torch.randn([2, 5, 7, 3]);
    const { windows, padHW } = windowPartition(x, 3);
    assert.deepEqual(padHW, [6, 9]);
    assert.deepEqual(windows.shape, [2 * 2 * 3, 3, 3, 3]);
    // window (b=0, row 1, col 2) holds x[0, 3:6, 6:9]; its last row (y=5) and x >= 7 are padding
    const w = windows.select(0, 1 * 3 + 2);
    assert.equal(
      maxAbsDiff(
        w.narrow(0, 0, 2).narrow(1, 0, 1).toFloat32Array(),
        x.select(0, 0).narrow(0, 3, 2).narrow(1, 6, 1).toFloat32Array(),
      ),
      0,
    );
    assert.equal(w.narrow(0, 2, 1).abs().sum().item(), 0);
    assert.equal(w.narrow(1, 1, 2).abs().sum().item(), 0);
    const back = windowUnpartition(windows, 3, padHW, [5, 7]);
    assert.equal(maxAbsDiff(back.toFloat32Array(), x.toFloat32Array()), 0);
  });
});

test('relPosTable reads rel_pos[q - k + S - 1] and interpolates only on a length mismatch', () => {
  torch.tidy(() => {
    // table rows are their own index: row r = [r, -r]
    const rows = Array.from({ length: 5 }, (_, r) => [r, -r]);
    const t = relPosTable(3, 3, torch.tensor(rows));
    assert.deepEqual(t.shape, [3, 3, 2]);
    // [q][k][0] = q - k + 2
    assert.deepEqual(
      (t.toArray() as number[][][]).map((r) => r.map((c) => c[0])),
      [
        [2, 1, 0],
        [3, 2, 1],
        [4, 3, 2],
      ],
    );
    // a 3-row table for size 3 (needs 5 rows): linear resize of [0, 1, 2] to 5 samples, align_corners false
    // positions (i + 0.5) * 3/5 - 0.5 = -0.2, 0.4, 1.0, 1.6, 2.2 -> clamped 0, 0.4, 1, 1.6, 2
    const small = relPosTable(3, 3, torch.tensor([[0], [1], [2]]));
    const diag = (small.toArray() as number[][][]).map((r) => r.map((c) => c[0]));
    const want = [
      [1, 0.4, 0],
      [1.6, 1, 0.4],
      [2, 1.6, 1],
    ];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) assert.ok(Math.abs(diag[i][j] - want[i][j]) < 1e-6);
  });
});

// The official Attention.forward written out literally (one op per line of the reference), for comparison.
function referenceAttention(attn: ViTAttention, x: torch.Tensor): torch.Tensor {
  const [B, H, W, C] = x.shape;
  const nh = attn.numHeads;
  const hd = C / nh;
  const qkv = attn.qkv
    .forward(x)
    .reshape(B, H * W, 3, nh, hd)
    .permute(2, 0, 3, 1, 4)
    .reshape(3, B * nh, H * W, hd);
  const [q, k, v] = qkv.unbind(0);
  let logits = q.mul(attn.scale).matmul(k.transpose(-2, -1));
  const rh = attn.relPosH!.toArray() as number[][];
  const rw = attn.relPosW!.toArray() as number[][];
  // Rh[i][j] = rel_pos_h[i - j + H - 1], built by hand
  const Rh = torch.tensor(
    Array.from({ length: H }, (_, i) => Array.from({ length: H }, (_, j) => rh[i - j + H - 1])),
  );
  const Rw = torch.tensor(
    Array.from({ length: W }, (_, i) => Array.from({ length: W }, (_, j) => rw[i - j + W - 1])),
  );
  const rq = q.reshape(B * nh, H, W, hd);
  const relH = torch.einsum('bhwc,hkc->bhwk', rq, Rh);
  const relW = torch.einsum('bhwc,wkc->bhwk', rq, Rw);
  logits = logits
    .view(B * nh, H, W, H, W)
    .add(relH.unsqueeze(-1))
    .add(relW.unsqueeze(-2))
    .view(B * nh, H * W, H * W);
  const out = logits.softmax(-1).matmul(v).view(B, nh, H, W, hd).permute(0, 2, 3, 1, 4).reshape(B, H, W, C);
  return attn.proj.forward(out);
}

test('attention: chunks over heads and non-square grids match the literal reference formula', () => {
  torch.manualSeed(3);
  torch.tidy(() =>
    torch.noGrad(() => {
      const [H, W] = [3, 5];
      const N = H * W;
      const full = new ViTAttention({
        dim: 12,
        numHeads: 3,
        qkvBias: true,
        useRelPos: true,
        inputSize: [H, W],
      });
      const chunked = new ViTAttention({
        dim: 12,
        numHeads: 3,
        qkvBias: true,
        useRelPos: true,
        inputSize: [H, W],
        logitsPerChunk: 4 * N * N, // 2 batches x 3 heads = 6 -> chunks of 4 and 2
      });
      const sd = full.stateDict();
      sd['rel_pos_h'].copy_(torch.randn([2 * H - 1, 4]));
      sd['rel_pos_w'].copy_(torch.randn([2 * W - 1, 4]));
      chunked.loadStateDict(sd);
      const x = torch.randn([2, H, W, 12]);
      const want = referenceAttention(full, x).toFloat32Array();
      assert.ok(maxAbsDiff(full.forward(x).toFloat32Array(), want) < 1e-5);
      assert.ok(maxAbsDiff(chunked.forward(x).toFloat32Array(), want) < 1e-5);
      full.dispose();
      chunked.dispose();
    }),
  );
});

test('encoder contract: output shape, gradients reach every parameter, state-dict round trip', () => {
  torch.manualSeed(5);
  const cfg = {
    ...samPreset('vit_b'),
    imgSize: 64,
    encoderEmbedDim: 16,
    encoderDepth: 2,
    encoderNumHeads: 2,
    encoderGlobalAttnIndexes: [1],
    windowSize: 3, // grid 4 -> windows padded to 6
    promptEmbedDim: 8,
  };
  const enc = new ImageEncoderViT(cfg);
  torch.tidy(() => {
    for (const [, p] of enc.namedParameters()) torch.noGrad(() => p.copy_(torch.randn(p.shape).mul(0.1)));
    const x = torch.randn([2, 3, 64, 64]);
    const y = enc.forward(x);
    assert.deepEqual(y.shape, [2, 8, 4, 4]);
    y.square().sum().backward();
    for (const [name, p] of enc.namedParameters()) {
      const g = p.grad;
      assert.ok(g !== null && g.abs().sum().item() > 0, `no gradient reaches ${name}`);
    }
    const copy = new ImageEncoderViT(cfg);
    copy.loadStateDict(enc.stateDict());
    const y2 = torch.noGrad(() => copy.forward(x));
    assert.equal(maxAbsDiff(y2.toFloat32Array(), torch.noGrad(() => enc.forward(x)).toFloat32Array()), 0);
    copy.dispose();
  });
  assert.throws(
    () => enc.forward(torch.zeros([1, 3, 32, 32])),
    /expected input \[B, 3, 64, 64\], got \[1, 3, 32, 32\]/,
  );
  enc.dispose();
});
