// The model's constant tensors (position tables, deformable-attention reference points and normalisers,
// pixel statistics) are made once per device: a forward after the first uploads nothing. On a GPU each
// upload from ordinary host memory would wait for all queued work.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { N } from '../../src/engine/native.ts';
import { deviceConstant } from '../../src/model/device-constants.ts';
import { normalizeImages } from '../../src/model/normalize.ts';
import { MSDeformPixelDecoder } from '../../src/model/pixel-decoder/msdeform-pixel-decoder.ts';
import { MaskedTransformerDecoder } from '../../src/model/transformer-decoder.ts';

test('deviceConstant builds once per key and device', () => {
  let made = 0;
  const make = (device: string) => {
    made++;
    return torch.tensor([1, 2, 3], { device });
  };
  const a = deviceConstant('test/abc', 'cpu', make);
  const b = torch.tidy(() => deviceConstant('test/abc', 'cpu', make)); // kept: a tidy scope does not free it
  assert.equal(a, b);
  assert.equal(made, 1);
  assert.deepEqual(b.toArray(), [1, 2, 3]);
  const c = deviceConstant('test/abd', 'cpu', make);
  assert.notEqual(c, a);
  assert.equal(made, 2);
});

test('a second forward of the deformable pixel decoder and the decoder uploads nothing', () => {
  const g = new torch.Generator(3);
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
  const dec = new MaskedTransformerDecoder({
    inChannels: 16,
    numClasses: 3,
    hiddenDim: 16,
    numQueries: 5,
    nHeads: 2,
    dimFeedforward: 24,
    decLayers: 3,
    maskDim: 12,
    promptDim: 4,
  });
  const images = torch.rand([2, 3, 64, 64], { generator: g }).mul(255);
  const feats = {
    res2: torch.randn([2, 6, 16, 16], { generator: g }),
    res3: torch.randn([2, 8, 8, 8], { generator: g }),
    res4: torch.randn([2, 10, 4, 4], { generator: g }),
    res5: torch.randn([2, 12, 2, 2], { generator: g }),
  };
  const run = (): void =>
    torch.tidy(() => {
      normalizeImages(images);
      const pix = pd.forward(feats);
      dec.forward(pix.multiScale, pix.maskFeatures);
    });
  run();
  const original = N.fromBytes;
  let uploads = 0;
  N.fromBytes = (...args: Parameters<typeof original>) => {
    uploads++;
    return original(...args);
  };
  try {
    run();
  } finally {
    N.fromBytes = original;
  }
  assert.equal(uploads, 0, `${uploads} tensors made from host data in the second forward`);
  pd.dispose();
  dec.dispose();
  torch.dispose([images, feats]);
});
