// safetensors: byte-exact against a hand-built file in the reference layout, round trips of every
// dtype (property-based), validation of corrupt files, and the atomic write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  parseSafetensors,
  readSafetensors,
  SafetensorsFile,
  serializeSafetensors,
  writeSafetensors,
  writeSafetensorsFrom,
} from '../../src/engine/io/safetensors.ts';
import { DTYPE_SIZE, DTYPES, fromTyped, type RawTensor } from '../../src/engine/io/raw.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'wish-st-'));

/** A file assembled by hand: u64 LE header length, JSON padded with spaces to 8, data. */
function handFile(headerJson: string, data: number[]): Uint8Array {
  const pad = (8 - (headerJson.length % 8)) % 8;
  const n = headerJson.length + pad;
  return new Uint8Array([
    n & 0xff,
    (n >> 8) & 0xff,
    0,
    0,
    0,
    0,
    0,
    0,
    ...Buffer.from(headerJson + ' '.repeat(pad), 'utf8'),
    ...data,
  ]);
}

test('byte-exact with a hand-built reference file: metadata first, I64 before F32 before U8, space padding', () => {
  const header =
    '{"__metadata__":{"format":"pt"},' +
    '"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
    '"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
    '"mask":{"dtype":"U8","shape":[1,3],"data_offsets":[16,19]}}';
  const data = [
    7,
    0,
    0,
    0,
    0,
    0,
    0,
    0, // int64 7
    0,
    0,
    0x80,
    0x3f,
    0,
    0,
    0,
    0xc0, // float32 1.0, -2.0
    1,
    0,
    1, // uint8
  ];
  const want = handFile(header, data);
  const tensors: Record<string, RawTensor> = {
    w: fromTyped(new Float32Array([1, -2]), [2]),
    mask: fromTyped(new Uint8Array([1, 0, 1]), [1, 3]),
    step: fromTyped(new BigInt64Array([7n]), []),
  };
  assert.deepEqual(serializeSafetensors(tensors, { format: 'pt' }), want);
  const back = parseSafetensors(want, 'hand.safetensors');
  assert.deepEqual(Object.keys(back.tensors), ['step', 'w', 'mask']);
  assert.deepEqual(back.metadata, { format: 'pt' });
  assert.deepEqual([...new Float32Array(back.tensors.w.data.slice().buffer)], [1, -2]);
  assert.deepEqual(back.tensors.mask.shape, [1, 3]);
  assert.deepEqual(back.tensors.step.shape, []);
});

const dtypeArb = fc.constantFrom(...DTYPES);
const tensorArb = dtypeArb.chain((dtype) =>
  fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }).chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((data): RawTensor => ({ dtype, shape, data }));
  }),
);
const dictArb = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== '__metadata__' && k !== '__proto__'),
  tensorArb,
  { maxKeys: 8 },
);
const metaArb = fc.dictionary(
  fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
  fc.string({ maxLength: 20 }),
  { maxKeys: 3 },
);

test('round trip, in memory and through a file, for every dtype and random shapes/bytes', async () => {
  const dir = tmp();
  try {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(dictArb, metaArb, async (tensors, metadata) => {
        const bytes = serializeSafetensors(tensors, metadata);
        const mem = parseSafetensors(bytes);
        assert.deepEqual(mem.metadata, { ...metadata });
        const path = join(dir, `t${i++}.safetensors`);
        await writeSafetensors(path, tensors, metadata);
        assert.deepEqual(new Uint8Array(readFileSync(path)), bytes);
        const file = await readSafetensors(path);
        for (const got of [mem, file]) {
          assert.deepEqual(new Set(Object.keys(got.tensors)), new Set(Object.keys(tensors)));
          for (const [k, t] of Object.entries(tensors)) {
            assert.equal(got.tensors[k].dtype, t.dtype);
            assert.deepEqual(got.tensors[k].shape, t.shape);
            assert.deepEqual(new Uint8Array(got.tensors[k].data), t.data);
          }
        }
        // every tensor starts at a multiple of its element size
        const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        assert.equal(n % 8, 0);
        for (const t of Object.values(mem.tensors))
          assert.equal((t.data.byteOffset - 8 - n) % DTYPE_SIZE[t.dtype], 0);
      }),
      { numRuns: 150 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SafetensorsFile reads one tensor by name, lists keys in file order, and exposes metadata', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'm.safetensors');
    const a = fromTyped(
      Float32Array.from({ length: 1000 }, (_, i) => i / 7),
      [10, 100],
    );
    const b = fromTyped(new Int32Array([5, -6]), [2]);
    await writeSafetensors(path, { a, b }, { note: 'hello' });
    const f = await SafetensorsFile.open(path);
    try {
      assert.deepEqual(f.keys(), ['a', 'b']);
      assert.deepEqual(f.metadata, { note: 'hello' });
      assert.deepEqual(f.info('b').shape, [2]);
      const got = await f.read('b');
      assert.deepEqual([...new Int32Array(got.data.buffer)], [5, -6]);
      assert.equal(got.data.byteLength, 8); // its own buffer, not a view into the whole file
      await assert.rejects(f.read('c'), /m\.safetensors: no tensor named "c"/);
    } finally {
      await f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt files are refused with the file, the tensor and what is wrong', async () => {
  const f32 = (name: string, begin: number, end: number, shape = '[2]') =>
    `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":[${begin},${end}]}`;
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array([1, 2, 3]), /too short for a safetensors header/],
    [
      new Uint8Array([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x7b]),
      /header length 65535 runs past the end of the 9-byte file/,
    ],
    [
      new Uint8Array([0, 0, 0, 0x40, 0, 0, 0, 0]),
      /header length 1073741824 exceeds the 100000000-byte limit/,
    ],
    [handFile('[1,2]', []), /does not start with "\{"/],
    [handFile('{"a":', []), /header is not valid JSON/],
    [
      handFile(`{${f32('a', 0, 8)}}`, [0, 0, 0, 0]),
      /tensor "a": data_offsets \[0, 8\] run past the end of the data section \(4 bytes\): file truncated\?/,
    ],
    [
      handFile(`{${f32('a', 0, 8)},${f32('b', 4, 12)}}`, new Array(12).fill(0)),
      /tensor "b": data_offsets overlap tensor "a"/,
    ],
    [
      handFile(`{${f32('a', 0, 8)},${f32('b', 12, 20)}}`, new Array(20).fill(0)),
      /tensor "b": gap of 4 bytes/,
    ],
    [handFile(`{${f32('a', 0, 8)}}`, new Array(12).fill(0)), /4 trailing bytes after the last tensor/],
    [
      handFile(`{${f32('a', 0, 8, '[3]')}}`, new Array(8).fill(0)),
      /tensor "a": F32 \[3\] needs 12 bytes but data_offsets \[0, 8\] span 8/,
    ],
    [
      handFile(`{${f32('a', 0, 8, '[-2]')}}`, new Array(8).fill(0)),
      /tensor "a": shape \[-2\] is not a list of non-negative integers/,
    ],
    [
      handFile(`{${f32('a', 8, 0)}}`, new Array(8).fill(0)),
      /tensor "a": data_offsets \[8,0\] is not \[begin, end\]/,
    ],
    [
      handFile('{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}', new Array(8).fill(0)),
      /tensor "a": dtype "C64" is not supported/,
    ],
    [handFile('{"__metadata__":{"k":1}}', []), /__metadata__\["k"\] is not a string/],
    [handFile('{"a":5}', []), /tensor "a": header entry is not an object/],
  ];
  const dir = tmp();
  try {
    for (const [i, [bytes, re]] of cases.entries()) {
      assert.throws(
        () => parseSafetensors(bytes, `case${i}.safetensors`),
        (e: Error) => re.test(e.message) && e.message.startsWith(`case${i}.safetensors: `),
        `in memory: ${re}`,
      );
      const path = join(dir, `case${i}.safetensors`);
      writeFileSync(path, bytes);
      await assert.rejects(
        readSafetensors(path),
        (e: Error) => re.test(e.message) && e.message.startsWith(path),
        `file: ${re}`,
      );
    }
    // A download cut short: the real file minus its last bytes.
    const path = join(dir, 'cut.safetensors');
    await writeSafetensors(path, { w: fromTyped(new Float32Array(64), [8, 8]) });
    truncateSync(path, readFileSync(path).length - 3);
    await assert.rejects(
      readSafetensors(path),
      /cut\.safetensors: tensor "w": data_offsets \[0, 256\] run past the end of the data section \(253 bytes\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('writes are atomic: no temp file left on success, the original untouched when writing fails', async () => {
  const dir = tmp();
  try {
    const path = join(dir, 'ckpt.safetensors');
    const v1 = { w: fromTyped(new Float32Array([1, 2, 3]), [3]) };
    let progress = [0, 0];
    await writeSafetensors(path, v1, {}, (b, t) => (progress = [b, t]));
    assert.deepEqual(progress, [12, 12]);
    assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
    const original = readFileSync(path);
    // Invalid input is refused before the disk is touched.
    const bad = { w: { dtype: 'float32', shape: [4], data: new Uint8Array(12) } as RawTensor };
    await assert.rejects(writeSafetensors(path, bad), /tensor "w": float32 \[4\] needs 16 bytes but has 12/);
    await assert.rejects(
      writeSafetensors(path, v1, { k: 3 as unknown as string }),
      /metadata\["k"\] must be a string/,
    );
    // Failure mid-write (a lazily produced tensor fails after others were written): original intact.
    const failing = {
      a: { dtype: 'float32' as const, shape: [1], bytes: () => new Uint8Array(4) },
      b: {
        dtype: 'int8' as const,
        shape: [2],
        bytes: (): Uint8Array => {
          throw new Error('device copy failed');
        },
      },
    };
    await assert.rejects(
      writeSafetensorsFrom(path, failing),
      /ckpt\.safetensors: writing safetensors failed: device copy failed/,
    );
    const short = { a: { dtype: 'float32' as const, shape: [2], bytes: () => new Uint8Array(4) } };
    await assert.rejects(
      writeSafetensorsFrom(path, short),
      /tensor "a" produced 4 bytes, its dtype and shape need 8/,
    );
    assert.deepEqual(readdirSync(dir), ['ckpt.safetensors']);
    assert.deepEqual(readFileSync(path), original);
    // Failure after the temp file is written: the target is a directory, so the final rename fails.
    const asDir = join(dir, 'taken.safetensors');
    mkdirSync(asDir);
    await assert.rejects(writeSafetensors(asDir, v1), /taken\.safetensors: writing safetensors failed/);
    assert.deepEqual(readdirSync(dir).sort(), ['ckpt.safetensors', 'taken.safetensors']);
    assert.deepEqual(readFileSync(path), original);
    // Missing folder: a clear error and nothing created.
    await assert.rejects(
      writeSafetensors(join(dir, 'no', 'x.safetensors'), v1),
      /x\.safetensors: writing safetensors failed: ENOENT/,
    );
    // Overwriting an existing checkpoint replaces it whole.
    await writeSafetensors(path, { w: fromTyped(new Float32Array([9]), [1]) });
    assert.deepEqual(
      [...new Float32Array(new Uint8Array((await readSafetensors(path)).tensors.w.data).buffer)],
      [9],
    );
    assert.deepEqual(readdirSync(dir).sort(), ['ckpt.safetensors', 'taken.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: random and mutated files parse or fail with an error naming the file', () => {
  const valid = serializeSafetensors(
    { a: fromTyped(new Float32Array([1, 2]), [2]), b: fromTyped(new Uint8Array([3]), [1, 1]) },
    { k: 'v' },
  );
  const check = (b: Uint8Array) => {
    try {
      parseSafetensors(b, 'fuzz.safetensors');
    } catch (e) {
      assert.ok(e instanceof Error && e.message.startsWith('fuzz.safetensors: '), String(e));
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), check), { numRuns: 2000 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (edits, cut) => {
        const b = valid.slice(0, valid.length - (cut % 4));
        for (const [at, v] of edits) b[at % b.length] = v;
        check(b);
      },
    ),
    { numRuns: 2000 },
  );
});
