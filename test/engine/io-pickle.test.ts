// The restricted unpickler against pickles written by CPython (protocols 0-5), hand-made edge
// cases, and fuzzing: arbitrary bytes must end in a clean UnpicklingError, never a hang, a crash or
// another kind of exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { PyDict, PyTuple, unpickle, UnpicklingError, type PyValue } from '../../src/engine/io/pickle.ts';
import { TORCH_GLOBALS, unpickleTorch } from '../../src/engine/io/pth.ts';

const fixtures = fileURLToPath(new URL('../fixtures/pth/', import.meta.url));
const pickles = join(fixtures, 'pickles');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as { plain: unknown };
const opts = { file: 'test.pkl', globals: TORCH_GLOBALS };

/** The tagged JSON form scripts/make-pth-fixtures.py writes for Python values. */
function tagged(v: PyValue): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'bigint') return { int: v.toString() };
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (v instanceof PyTuple) return { tuple: v.items.map(tagged) };
  if (Array.isArray(v)) return v.map(tagged);
  if (v instanceof PyDict) return { dict: [...v.map].map(([k, x]) => [tagged(k as PyValue), tagged(x)]) };
  throw new Error(`unexpected ${String(v)}`);
}

const bytes = (...parts: (number | string)[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...Buffer.from(p, 'latin1')])));

test('CPython pickles of every protocol 0-5 decode to the same values', () => {
  for (let proto = 0; proto <= 5; proto++) {
    const v = unpickle(readFileSync(join(pickles, `plain_p${proto}.pkl`)), opts);
    assert.deepEqual(tagged(v), expected.plain, `protocol ${proto}`);
    // memo references keep identity: "shared" holds the same list twice
    const shared = (v as PyDict).get('shared') as PyValue[];
    assert.equal(shared[0], shared[1], `protocol ${proto}: memoised list identity`);
    assert.equal(((v as PyDict).get('od') as PyDict).className, 'collections.OrderedDict');
  }
});

test('globals outside the allow-list are refused by name: STACK_GLOBAL builtins.eval, text GLOBAL posix.system', () => {
  assert.throws(
    () => unpickle(readFileSync(join(pickles, 'evil_eval_p4.pkl')), { ...opts, file: 'evil_eval_p4.pkl' }),
    (e: Error) =>
      e instanceof UnpicklingError &&
      /evil_eval_p4\.pkl: refusing to load global "builtins\.eval"/.test(e.message),
  );
  assert.throws(
    () => unpickle(readFileSync(join(pickles, 'evil_system_p0.pkl')), opts),
    /refusing to load global "posix\.system"/,
  );
  // The refusal comes at the GLOBAL itself, before any argument is even read.
  assert.throws(
    () => unpickle(bytes(0x80, 2, 'c', 'os\nsystem\n'), opts),
    /refusing to load global "os\.system"/,
  );
  // Allowed names cannot be reached through prototype keys either.
  assert.throws(() => unpickle(bytes('c', '__proto__\nx\n', '.'), opts), /refusing to load global/);
  assert.throws(() => unpickle(bytes('c', 'constructor\n\n', '.'), opts), /refusing to load global/);
});

test('hand-made edge cases: small ints, memo, marks, BUILD', () => {
  // PROTO 2, BININT -5, BININT2 513, LONG1 [00 80 00] = 32768, TUPLE3, STOP
  const t = unpickle(
    bytes(0x80, 2, 'J', 0xfb, 0xff, 0xff, 0xff, 'M', 1, 2, 0x8a, 3, 0x00, 0x80, 0x00, 0x87, '.'),
    opts,
  );
  assert.deepEqual(t, new PyTuple([-5, 513, 32768]));
  // LONG1 [00 80]: the top bit is the sign, so -32768 (as pickle.encode_long(-32768) writes it)
  assert.equal(unpickle(bytes(0x8a, 2, 0x00, 0x80, '.'), opts), -32768);
  // 2**64 does not fit a double exactly: it stays a bigint
  assert.equal(unpickle(bytes(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, '.'), opts), 2n ** 64n);
  // LONG1 with 2 bytes 0xff 0xff is -1 (two's complement)
  assert.equal(unpickle(bytes(0x8a, 2, 0xff, 0xff, '.'), opts), -1);
  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND -> a list that contains itself
  const self = unpickle(bytes(']', 'q', 0, 'h', 0, 'a', '.'), opts) as PyValue[];
  assert.equal(self[0], self);
  // MARK with nothing pushed, TUPLE -> ()
  assert.deepEqual(unpickle(bytes('(', 't', '.'), opts), new PyTuple([]));
  // BUILD on a plain dict is refused (only OrderedDict attributes such as _metadata are accepted)
  assert.throws(() => unpickle(bytes('}', '}', 'b', '.'), opts), /BUILD on dict is not supported/);
});

test('malformed pickles fail cleanly with the offset', () => {
  const cases: [Uint8Array, RegExp][] = [
    [bytes(), /truncated/],
    [bytes(0x80), /truncated/],
    [bytes('X', 10, 0, 0, 0, 'abc'), /truncated: needs 10 bytes, 3 left/],
    [bytes('0', '.'), /stack underflow \(opcode at byte 0\)/],
    [bytes('(', '.'), /STOP inside an open MARK/],
    [bytes('t', '.'), /no MARK/],
    [bytes('h', 3, '.'), /memo key 3 was never stored/],
    [bytes(0x80, 9), /protocol newer than 5/],
    [bytes(0xff), /unsupported or disallowed opcode 0xff/],
    [bytes('N', 'N', 0x81, '.'), /opcode 0x81 \(NEWOBJ\)/],
    [bytes('}', ']', 'N', 's', '.'), /unsupported dict key type list/],
    [bytes(']', 'N', 'N', 's', '.'), /SETITEM\(S\) on list\(0\), not a dict/],
    [bytes('N', ')', 'R', '.'), /REDUCE on None/],
    [bytes('c', 'torch\nFloatStorage\n', ')', 'R', '.'), /torch\.FloatStorage cannot be called/],
    [bytes('N', 'Q', '.'), /persistent ids are not allowed/],
    [bytes(0x8c, 2, 0xc3, 0x28, '.'), /invalid UTF-8/],
    [bytes(0x8a, 100, ...new Array(100).fill(1), '.'), /integer of 100 bytes is too large/],
    [bytes(0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), /exceeds the pickle's size/],
  ];
  for (const [b, re] of cases) {
    assert.throws(
      () => unpickle(b, opts),
      (e: Error) =>
        e instanceof UnpicklingError && re.test(e.message) && e.message.startsWith('test.pkl: pickle: '),
      `${Buffer.from(b).toString('hex')} should fail with ${re}`,
    );
  }
});

test('torch rebuild functions validate their arguments', () => {
  const storagePid = bytes(
    '(',
    0x8c,
    7,
    'storage',
    'c',
    'torch\nFloatStorage\n',
    0x8c,
    1,
    '0',
    0x8c,
    3,
    'cpu',
    'K',
    4,
    't',
    'Q',
  );
  const rebuild = bytes('c', 'torch._utils\n_rebuild_tensor_v2\n', '(');
  // size (2, 2) with stride (1,) -> mismatched ranks
  const bad = bytes(
    ...rebuild,
    ...storagePid,
    'K',
    0,
    'K',
    2,
    'K',
    2,
    0x86,
    'K',
    1,
    0x85,
    0x89,
    ')',
    't',
    'R',
    '.',
  );
  assert.throws(() => unpickleTorch(bad, 'x.pkl'), /_rebuild_tensor_v2: size has 2 dims but stride has 1/);
  const badPid = bytes('(', 0x8c, 3, 'foo', 't', 'Q', '.');
  assert.throws(() => unpickleTorch(badPid, 'x.pkl'), /persistent id: persistent id tuple\(1\) is not/);
});

// Valid pickles to mutate: the CPython ones and a torch data.pkl.
const seeds = [0, 1, 2, 3, 4, 5].map((p) => new Uint8Array(readFileSync(join(pickles, `plain_p${p}.pkl`))));

function expectCleanFailureOrValue(b: Uint8Array): void {
  try {
    unpickleTorch(b, 'fuzz.pkl');
  } catch (e) {
    if (!(e instanceof UnpicklingError)) throw e;
  }
}

test('fuzz: random bytes never crash, hang, or throw anything but UnpicklingError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => expectCleanFailureOrValue(b)),
    { numRuns: 3000 },
  );
  // random sequences of real opcode bytes reach much deeper than uniform noise
  const ops = [...'()0.12NJKMGXqhjrcstuae]}bRQ']
    .map((c) => c.charCodeAt(0))
    .concat([0x80, 0x85, 0x86, 0x87, 0x88, 0x8a, 0x8c, 0x93, 0x94, 0x95]);
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...ops), fc.integer({ min: 0, max: 255 })), { maxLength: 300 }),
      (a) => expectCleanFailureOrValue(new Uint8Array(a)),
    ),
    { numRuns: 3000 },
  );
});

test('fuzz: mutated valid pickles (flips, truncations, insertions, deletions) fail cleanly', () => {
  const mutation = fc.record({
    seed: fc.integer({ min: 0, max: seeds.length - 1 }),
    edits: fc.array(
      fc.record({
        kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  });
  fc.assert(
    fc.property(mutation, ({ seed, edits }) => {
      const b = [...seeds[seed]];
      for (const { kind, at, value } of edits) {
        const i = b.length === 0 ? 0 : at % b.length;
        if (kind === 'flip') b[i] ^= 1 << (value % 8);
        else if (kind === 'set') b[i] = value;
        else if (kind === 'insert') b.splice(i, 0, value);
        else if (kind === 'delete') b.splice(i, 1);
        else b.length = i;
      }
      expectCleanFailureOrValue(new Uint8Array(b));
    }),
    { numRuns: 3000 },
  );
});
