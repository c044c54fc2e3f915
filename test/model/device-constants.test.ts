// The model's constant tensors are made once per key and device (test/model/contract.test.ts checks that no
// model part uploads host data after its first run).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import { deviceConstant } from '../../src/model/device-constants.ts';
import { normalizeImages } from '../../src/model/normalize.ts';
import { countHostUploads } from './host-uploads.ts';

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

test('normalizeImages uploads its statistics once', () => {
  const images = torch.rand([2, 3, 8, 8]).mul(255);
  torch.tidy(() => normalizeImages(images));
  const { uploads } = countHostUploads(() => torch.tidy(() => normalizeImages(images)));
  assert.equal(uploads, 0);
  images.dispose();
});
