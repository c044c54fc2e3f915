// Tags to points (section 4.3, Eq. 18) on synthetic CAMs with known peaks, with a fake SAM teacher whose
// masks are known rectangles, and through an augmentation's flip + resize + crop.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import {
  composeMaps,
  cropMap,
  flipMap,
  identityMap,
  mapPoint,
  resizeMap,
} from '../../src/data/augment/frame-map.ts';
import {
  findPeaks,
  groupPeaks,
  tagsToPointsConfig,
  tagsToPoints,
  type PointPromptOutput,
  type PointPromptTeacher,
} from '../../src/method/index.ts';

/** A [C, H, W] CAM: per class, a sum of Gaussian blobs { x, y (cell centre indices), height, sigma }. */
function cam(
  C: number,
  H: number,
  W: number,
  blobs: { c: number; x: number; y: number; h: number; s?: number }[],
): Tensor {
  const data = new Float32Array(C * H * W);
  for (const b of blobs) {
    const s = b.s ?? 2;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++)
        data[(b.c * H + i) * W + j] += b.h * Math.exp(-((i - b.y) ** 2 + (j - b.x) ** 2) / (2 * s * s));
    }
  }
  return torch.fromTypedArray(data, [C, H, W]);
}

const cfg = (o: Record<string, unknown> = {}) => tagsToPointsConfig({ minPeakDistance: 4 / 32, ...o });

test('two blobs give two peaks at their centres; the tag list selects the classes', () => {
  const maps = cam(2, 32, 32, [
    { c: 0, x: 8, y: 8, h: 2 },
    { c: 0, x: 24, y: 20, h: 1.5 },
    { c: 1, x: 16, y: 16, h: 3 },
  ]);
  const peaks = findPeaks(maps, [0], identityMap(32, 32), cfg());
  assert.deepEqual(
    peaks.map((p) => [p.classId, p.point]),
    [
      [0, [8.5, 8.5]],
      [0, [24.5, 20.5]],
    ],
  );
  assert.equal(peaks[0].score, 1);
  assert.ok(Math.abs(peaks[1].score - 0.75) < 1e-5);
  const both = findPeaks(maps, [1, 0], identityMap(32, 32), cfg());
  assert.deepEqual(
    both.map((p) => p.classId),
    [0, 0, 1],
  );
  assert.throws(() => findPeaks(maps, [2], identityMap(32, 32), cfg()), /tag 2 outside \[0, 2\)/);
});

test('peaks below tau are dropped; a CAM with no positive value gives none', () => {
  const maps = cam(2, 32, 32, [
    { c: 0, x: 8, y: 8, h: 2 },
    { c: 0, x: 24, y: 20, h: 0.8 }, // 0.4 of the maximum
  ]).sub(torch.tensor([0, 1]).reshape(2, 1, 1)); // class 1 is -1 everywhere
  assert.equal(findPeaks(maps, [0], identityMap(32, 32), cfg()).length, 1);
  assert.equal(findPeaks(maps, [0], identityMap(32, 32), cfg({ tau: 0.3 })).length, 2);
  assert.deepEqual(findPeaks(maps, [1], identityMap(32, 32), cfg({ tau: 0 })), []);
});

test('a flat plateau counts once, at its centre', () => {
  const data = new Float32Array(20 * 20);
  for (let i = 6; i <= 8; i++) for (let j = 4; j <= 10; j++) data[i * 20 + j] = 1; // 3 x 7 plateau, centre (7, 7)
  const maps = torch.fromTypedArray(data, [1, 20, 20]);
  const peaks = findPeaks(maps, [0], identityMap(20, 20), cfg({ minPeakDistance: 0 }));
  assert.deepEqual(
    peaks.map((p) => p.point),
    [[7.5, 7.5]],
  );
});

test('minimum spacing keeps the higher of two close peaks', () => {
  const maps = cam(1, 64, 64, [
    { c: 0, x: 20, y: 20, h: 2, s: 1 },
    { c: 0, x: 25, y: 20, h: 1.8, s: 1 },
  ]);
  const near = findPeaks(maps, [0], identityMap(64, 64), cfg({ minPeakDistance: 10 / 64 }));
  assert.deepEqual(
    near.map((p) => p.point),
    [[20.5, 20.5]],
  );
  const apart = findPeaks(maps, [0], identityMap(64, 64), cfg({ minPeakDistance: 4 / 64 }));
  assert.equal(apart.length, 2);
  assert.equal(
    findPeaks(maps, [0], identityMap(64, 64), cfg({ minPeakDistance: 0, maxPeaksPerClass: 1 })).length,
    1,
  );
});

test('coordinates: a peak in the augmented frame maps back through flip + resize + crop exactly', () => {
  // Original 40 x 30; flip, resize to 20 x 15, crop (2, 1) 16 x 16: rows 14, 15 are padding.
  const frame = composeMaps(
    composeMaps(flipMap(40, 30), resizeMap(40, 30, 20, 15)),
    cropMap(20, 15, 2, 1, 16, 16),
  );
  // Augmented cell (row 3, col 5) has centre (5.5, 3.5); its original point is (40 - 2 * 7.5, 2 * 4.5) = (25, 9).
  const maps = cam(1, 16, 16, [
    { c: 0, x: 5, y: 3, h: 2, s: 1 },
    { c: 0, x: 12, y: 15, h: 3, s: 1 }, // in the padding: dropped, and it does not suppress the other
  ]);
  const peaks = findPeaks(maps, [0], frame, cfg({ minPeakDistance: 0 }));
  assert.equal(peaks.length, 1);
  assert.deepEqual(peaks[0].augmented, [5.5, 3.5]);
  assert.deepEqual(peaks[0].point, [25, 9]);
  assert.deepEqual(mapPoint(frame, peaks[0].point), [5.5, 3.5]);
  // A CAM at a coarser grid (stride 4) upsampled to the frame: the peak still maps back consistently.
  const coarse = cam(1, 4, 4, [{ c: 0, x: 1, y: 1, h: 1, s: 0.5 }]);
  const p = findPeaks(coarse, [0], frame, cfg({ minPeakDistance: 0, peakGridStride: 2 }));
  assert.ok(p.length >= 1);
  for (const q of p) {
    const back = mapPoint(frame, q.point);
    assert.ok(Math.abs(back[0] - q.augmented[0]) < 1e-9 && Math.abs(back[1] - q.augmented[1]) < 1e-9);
  }
});

/**
 * A fake SAM over a 32 x 32 original (low-res grid 16 x 16, half size): a point inside a known rectangle
 * gets that rectangle at every level; elsewhere a 1-cell mask of its own. Stability falls with the
 * distance to the rectangle's centre, so the most central point should win its group.
 */
class RectTeacher implements PointPromptTeacher {
  calls: number[][][] = [];
  constructor(readonly rects: [number, number, number, number][]) {} // x0, y0, x1, y1 in original pixels
  predictPoints(_id: string, points: Tensor): PointPromptOutput {
    const pts = points.toArray() as number[][];
    this.calls.push(pts);
    const r = 16;
    const low = new Float32Array(pts.length * 3 * r * r).fill(-5);
    const stab = new Float32Array(pts.length * 3);
    pts.forEach(([x, y], n) => {
      const rect = this.rects.find(([x0, y0, x1, y1]) => x >= x0 && x < x1 && y >= y0 && y < y1);
      for (let l = 0; l < 3; l++) {
        const base = (n * 3 + l) * r * r;
        if (rect) {
          for (let i = rect[1] / 2; i < rect[3] / 2; i++)
            for (let j = rect[0] / 2; j < rect[2] / 2; j++) low[base + i * r + j] = 5;
          const cx = (rect[0] + rect[2]) / 2;
          const cy = (rect[1] + rect[3]) / 2;
          stab[n * 3 + l] = 1 - Math.hypot(x - cx, y - cy) / 100;
        } else {
          low[base + Math.floor(y / 2) * r + Math.floor(x / 2)] = 5;
          stab[n * 3 + l] = 0.5;
        }
      }
    });
    return {
      lowResLogits: torch.fromTypedArray(low, [pts.length, 3, r, r]),
      iou: torch.full([pts.length, 3], 0.9),
      stability: torch.fromTypedArray(stab, [pts.length, 3]),
    };
  }
}

test('grouping: peaks on one SAM object merge, the most stable one stays; classes never merge', async () => {
  // Object A: x [0, 16), y [0, 20): two class-0 peaks, (4.5, 4.5) and the more central (8.5, 10.5).
  // Object B: x [20, 32), y [20, 32): one class-0 peak; plus a class-1 peak on object A.
  const maps = cam(2, 32, 32, [
    { c: 0, x: 4, y: 4, h: 2, s: 1.5 },
    { c: 0, x: 8, y: 10, h: 1.6, s: 1.5 },
    { c: 0, x: 26, y: 26, h: 1.5, s: 1.5 },
    { c: 1, x: 10, y: 10, h: 1, s: 1.5 },
  ]);
  const teacher = new RectTeacher([
    [0, 0, 16, 20],
    [20, 20, 32, 32],
  ]);
  const out = await tagsToPoints(
    { embeddingId: 'img-1', cams: maps, tags: [0, 1], frame: identityMap(32, 32) },
    teacher,
    cfg(),
  );
  assert.equal(teacher.calls.length, 1, 'one batched SAM call for all peaks');
  assert.equal(teacher.calls[0].length, 4);
  assert.deepEqual(out.labels, [
    { classId: 0, point: [8.5, 10.5] },
    { classId: 0, point: [26.5, 26.5] },
    { classId: 1, point: [10.5, 10.5] },
  ]);
  // SAM's outputs for the kept points come along, row for row.
  assert.ok(out.sam);
  assert.deepEqual(out.sam.lowResLogits.shape, [3, 3, 16, 16]);
  const again = teacher.predictPoints('img-1', torch.tensor(out.labels.map((l) => l.point)));
  assert.deepEqual(out.sam.lowResLogits.toArray(), again.lowResLogits.toArray());
  assert.deepEqual(out.sam.stability.toArray(), again.stability.toArray());
  // With a merge threshold above every IoU nothing merges.
  const loose = await tagsToPoints(
    { embeddingId: 'img-1', cams: maps, tags: [0, 1], frame: identityMap(32, 32) },
    teacher,
    cfg({ mergeIoU: 1 }),
  );
  assert.equal(loose.labels.length, 4);
});

test('groupPeaks: IoU graph components (A~B, B~C gives one group) and input checks', () => {
  // Three masks on a 1 x 4 low-res row: A = cells 0-1, B = cells 0-2 (IoU(A,B) = 2/3), C = cells 1-2 (IoU(B,C) = 2/3,
  // IoU(A,C) = 1/3): one instance through B.
  const rows = [
    [1, 1, 0, 0],
    [1, 1, 1, 0],
    [0, 1, 1, 0],
  ].map((r) => r.map((v) => (v ? 5 : -5)));
  const low = torch.tensor(rows).reshape(3, 1, 1, 4).expand(3, 3, 1, 4).contiguous();
  const stability = torch.tensor([
    [0.1, 0.7, 0.1],
    [0.1, 0.6, 0.1],
    [0.1, 0.9, 0.1],
  ]);
  const peaks = [0, 1, 2].map((i) => ({
    classId: 0,
    score: 1 - i / 10,
    augmented: [i, 0] as [number, number],
    point: [i, 0] as [number, number],
  }));
  assert.deepEqual(groupPeaks(peaks, { lowResLogits: low, iou: stability, stability }, cfg()), [2]);
  // IoU 2/3 is not above 0.7: three instances.
  assert.deepEqual(
    groupPeaks(peaks, { lowResLogits: low, iou: stability, stability }, cfg({ mergeIoU: 0.7 })),
    [0, 1, 2],
  );
  assert.throws(
    () => groupPeaks(peaks.slice(0, 2), { lowResLogits: low, iou: stability, stability }, cfg()),
    /2 peaks but SAM answered 3 prompts/,
  );
});

test('no peak: no SAM call, no labels', async () => {
  const teacher = new RectTeacher([]);
  const out = await tagsToPoints(
    { embeddingId: 'x', cams: torch.zeros([1, 8, 8]), tags: [0], frame: identityMap(8, 8) },
    teacher,
    cfg(),
  );
  assert.deepEqual(out.labels, []);
  assert.equal(out.sam, null);
  assert.equal(teacher.calls.length, 0);
});

test('several CAM scales are averaged before normalising', () => {
  const a = cam(1, 32, 32, [
    { c: 0, x: 8, y: 8, h: 1, s: 1.5 },
    { c: 0, x: 24, y: 24, h: 0.4, s: 1.5 },
  ]);
  const b = cam(1, 32, 32, [
    { c: 0, x: 8, y: 8, h: 0.2, s: 1.5 },
    { c: 0, x: 24, y: 24, h: 1, s: 1.5 },
  ]);
  assert.equal(findPeaks(a, [0], identityMap(32, 32), cfg()).length, 1);
  // Averaged: 0.6 and 0.7 -> normalised 6/7 and 1.
  const both = findPeaks([a, b], [0], identityMap(32, 32), cfg());
  assert.deepEqual(
    both.map((p) => p.point),
    [
      [24.5, 24.5],
      [8.5, 8.5],
    ],
  );
  assert.ok(Math.abs(both[1].score - 6 / 7) < 1e-4);
});
