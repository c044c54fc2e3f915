import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constantSchedule,
  cosineSchedule,
  linearWarmupFactor,
  makeSchedule,
  polySchedule,
} from '../../src/engine/optim/schedules.ts';

function near(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

test('linear warm-up rises from warmupFactor to 1', () => {
  // alpha = iter / 4; factor = 0.2 * (1 - alpha) + alpha
  near(linearWarmupFactor(0, 4, 0.2), 0.2);
  near(linearWarmupFactor(1, 4, 0.2), 0.4);
  near(linearWarmupFactor(2, 4, 0.2), 0.6);
  near(linearWarmupFactor(4, 4, 0.2), 1);
  near(linearWarmupFactor(100, 4, 0.2), 1);
  near(linearWarmupFactor(0, 0, 0.2), 1);
});

test('poly decay without warm-up: (1 - t/T)^p, zero from T on', () => {
  const linear = polySchedule({ maxIters: 10, power: 1 });
  near(linear(0), 1);
  near(linear(5), 0.5);
  near(linear(9), 0.1);
  near(linear(10), 0);
  near(linear(12), 0);
  const square = polySchedule({ maxIters: 10, power: 2 });
  near(square(5), 0.25);
  near(square(8), 0.04);
  // Mask2Former's power 0.9: 0.5^0.9 = exp(0.9 * ln 0.5)
  near(polySchedule({ maxIters: 10 })(5), 0.5358867312681466);
});

test('poly with warm-up multiplies the two factors (detectron2 WarmupPolyLR)', () => {
  const s = polySchedule({ maxIters: 10, power: 1, warmupIters: 4, warmupFactor: 0.2 });
  near(s(0), 0.2); // 0.2 * 1.0
  near(s(2), 0.48); // 0.6 * 0.8
  near(s(4), 0.6); // 1.0 * 0.6
});

test('poly constant ending holds the floor only after warm-up', () => {
  const s = polySchedule({ maxIters: 10, power: 1, constantEnding: 0.3 });
  near(s(6), 0.4);
  near(s(8), 0.3); // decay 0.2 < 0.3
  near(s(10), 0.3);
});

test('cosine decays along a half cosine to the final factor', () => {
  const s = cosineSchedule({ maxIters: 4 });
  near(s(0), 1);
  near(s(1), 0.5 + 0.5 * Math.SQRT1_2); // 0.5 * (1 + cos(pi/4))
  near(s(2), 0.5);
  near(s(4), 0);
  near(s(7), 0);
  const floor = cosineSchedule({ maxIters: 4, finalFactor: 0.1 });
  near(floor(2), 0.55); // 0.1 + 0.9 * 0.5
  near(floor(4), 0.1);
  const warm = cosineSchedule({ maxIters: 4, warmupIters: 2, warmupFactor: 0 });
  near(warm(0), 0);
  near(warm(1), 0.5 * (0.5 + 0.5 * Math.SQRT1_2));
  near(warm(2), 0.5);
});

test('constant schedule with and without warm-up', () => {
  near(constantSchedule()(0), 1);
  near(constantSchedule()(1000), 1);
  const s = constantSchedule({ warmupIters: 10, warmupFactor: 0 });
  near(s(0), 0);
  near(s(5), 0.5);
  near(s(10), 1);
});

test('makeSchedule dispatches on kind and matches the direct builders', () => {
  const a = makeSchedule({ kind: 'poly', maxIters: 20, power: 0.9, warmupIters: 3 });
  const b = polySchedule({ maxIters: 20, power: 0.9, warmupIters: 3 });
  for (let i = 0; i < 25; i++) near(a(i), b(i));
  near(makeSchedule({ kind: 'cosine', maxIters: 4 })(2), 0.5);
  near(makeSchedule({ kind: 'constant' })(3), 1);
  assert.throws(() => makeSchedule({ kind: 'step' } as never), /unknown kind "step"/);
});

test('bad settings and iterations are refused with a clear message', () => {
  assert.throws(() => polySchedule({ maxIters: 0 }), /maxIters must be a positive integer, got 0/);
  assert.throws(() => polySchedule({ maxIters: 10, power: 0 }), /power must be > 0/);
  assert.throws(
    () => cosineSchedule({ maxIters: 10, warmupIters: -1 }),
    /warmupIters must be an integer >= 0/,
  );
  assert.throws(() => constantSchedule({ warmupFactor: 2 }), /warmupFactor must be in \[0, 1\]/);
  assert.throws(() => polySchedule({ maxIters: 10 })(-1), /iteration must be an integer >= 0, got -1/);
  assert.throws(() => polySchedule({ maxIters: 10 })(1.5), /iteration must be an integer/);
});
