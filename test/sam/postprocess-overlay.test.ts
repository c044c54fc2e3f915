// The overlay drawn by `wish sam predict`: blend arithmetic, drawing order and prompt marks by hand.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MASK_COLOURS, drawMaskOverlay } from '../../src/sam/overlay.ts';

test('masks blend at alpha in their colour, larger masks under smaller ones; prompts drawn on top', () => {
  const img = { data: new Uint8Array(3 * 3 * 3).fill(100), width: 3, height: 3 };
  // mask 0: one pixel (0, 0); mask 1: the whole top row
  const masks = new Uint8Array(2 * 9);
  masks[0] = 1;
  masks.set([1, 1, 1], 9);
  const out = drawMaskOverlay(img, masks, 2, { points: [[2, 2, 0]] });
  const px = (x: number, y: number) => Array.from(out.data.subarray((y * 3 + x) * 3, (y * 3 + x) * 3 + 3));
  const blend = (base: number[], c: readonly number[]) =>
    base.map((b, i) => Math.round(0.5 * b + 0.5 * c[i]));
  // (1, 0): only mask 1; (0, 0): mask 1 first (larger), then mask 0 over it
  assert.deepEqual(px(1, 0), blend([100, 100, 100], MASK_COLOURS[1]));
  assert.deepEqual(px(0, 0), blend(blend([100, 100, 100], MASK_COLOURS[1]), MASK_COLOURS[0]));
  assert.deepEqual(px(1, 1), [100, 100, 100]);
  assert.deepEqual(px(2, 2), [255, 0, 0]); // background point in red
  assert.deepEqual(Array.from(img.data.subarray(0, 3)), [100, 100, 100], 'input untouched');
  assert.throws(() => drawMaskOverlay(img, new Uint8Array(5), 1), /5 mask values, expected 1 x 3 x 3/);
});
