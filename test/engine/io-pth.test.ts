// .pth reading, checked against torch itself: the fixtures in test/fixtures/pth were written by
// torch.save and described by torch (expected.json) via scripts/make-pth-fixtures.py; the shared
// SAM fixture is checked against torch's per-tensor hashes and against the official model's own
// recorded outputs (which are functions of these weights).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { loadPthStateDict, readPth, isRawTensor } from '../../src/engine/io/pth.ts';
import { PyDict, PyTuple } from '../../src/engine/io/pickle.ts';
import { toFloat32, typedView, type RawTensor } from '../../src/engine/io/raw.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = join(repoRoot, 'test', 'fixtures', 'pth');
const samDir = resolve(repoRoot, '..', 'shared', 'fixtures', 'sam');
const fx = (name: string) => join(fixtures, name);

interface Described {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
const expected = JSON.parse(readFileSync(fx('expected.json'), 'utf8')) as Record<
  string,
  { tensors: Record<string, Described>; [k: string]: unknown }
>;

/** The tensor's values in the form expected.json records them. */
function values(t: RawTensor): (number | string)[] {
  if (t.dtype === 'int64') return [...(typedView(t) as BigInt64Array)].map(String);
  const finite = (x: number) => (Number.isFinite(x) ? x : Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf');
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') return [...toFloat32(t)].map(finite);
  return [...(typedView(t) as Float32Array)].map(finite);
}

function assertMatches(sd: Record<string, RawTensor>, want: Record<string, Described>, file: string): void {
  assert.deepEqual(Object.keys(sd), Object.keys(want), `${file}: keys`);
  for (const [k, d] of Object.entries(want)) {
    assert.equal(sd[k].dtype, d.dtype, `${file} ${k}: dtype`);
    assert.deepEqual(sd[k].shape, d.shape, `${file} ${k}: shape`);
    assert.deepEqual(values(sd[k]), d.values, `${file} ${k}: values`);
  }
}

test('state_dict(): OrderedDict with _metadata, float32 and int64 buffers', async () => {
  const { root, folder } = await readPth(fx('state_dict.pth'));
  assert.equal(folder, 'state_dict');
  assert.ok(root instanceof PyDict);
  assert.equal(root.className, 'collections.OrderedDict');
  const meta = root.attrs.get('_metadata');
  assert.ok(meta instanceof PyDict);
  const wantMeta = expected['state_dict.pth'].metadata as Record<string, Record<string, number>>;
  assert.deepEqual([...meta.map.keys()], Object.keys(wantMeta));
  for (const [k, v] of Object.entries(wantMeta)) {
    const got = meta.get(k);
    assert.ok(got instanceof PyDict);
    assert.deepEqual(Object.fromEntries(got.map), v, `_metadata[${k}]`);
  }
  assertMatches(
    await loadPthStateDict(fx('state_dict.pth')),
    expected['state_dict.pth'].tensors,
    'state_dict.pth',
  );
});

test('ZIP64 local headers and deflated entries read to the same tensors', async () => {
  for (const name of ['state_dict_zip64.pth', 'state_dict_deflated.pth']) {
    assertMatches(await loadPthStateDict(fx(name)), expected[name].tensors, name);
  }
});

test('every dtype, a 0-d scalar and an empty tensor read as torch wrote them', async () => {
  assertMatches(await loadPthStateDict(fx('dtypes.pth')), expected['dtypes.pth'].tensors, 'dtypes.pth');
});

test('a big-endian archive (byteorder "big") reads to the same values', async () => {
  assertMatches(
    await loadPthStateDict(fx('dtypes_bigendian.pth')),
    expected['dtypes_bigendian.pth'].tensors,
    'dtypes_bigendian.pth',
  );
});

test('views into a shared storage (transpose, offset slice, stride-0 expand) and a Parameter materialise contiguous', async () => {
  const sd = await loadPthStateDict(fx('views.pth'));
  assertMatches(sd, expected['views.pth'].tensors, 'views.pth');
  // hand check: base = arange(24).reshape(4, 6); base[1:, ::2] starts at 6 with strides (6, 2)
  assert.deepEqual([...(typedView(sd.offset_slice) as Float32Array)], [6, 8, 10, 12, 14, 16, 18, 20, 22]);
});

test('nested checkpoint: state dict found under "model"; scalars, big ints, bytes, lists and tuples decode', async () => {
  const want = expected['nested.pth'];
  assertMatches(await loadPthStateDict(fx('nested.pth')), want.tensors, 'nested.pth');
  const { root } = await readPth(fx('nested.pth'));
  assert.ok(root instanceof PyDict);
  const scalars = want.scalars as Record<string, unknown>;
  assert.equal(root.get('epoch'), scalars.epoch);
  assert.equal(root.get('lr'), scalars.lr);
  assert.equal(root.get('name'), scalars.name);
  assert.equal(root.get('big'), BigInt(scalars.big as string));
  assert.deepEqual([...(root.get('blob') as Uint8Array)], scalars.blob);
  assert.deepEqual(root.get('flags'), [true, false, null]);
  assert.deepEqual(root.get('pair'), new PyTuple([1, -2.5]));
  const model = root.get('model');
  assert.ok(model instanceof PyDict && isRawTensor(model.get('fc.weight')));
  // an explicit key works too, and a wrong one is a clear error
  assert.equal(Object.keys(await loadPthStateDict(fx('nested.pth'), { key: 'model' })).length, 9);
  await assert.rejects(
    loadPthStateDict(fx('nested.pth'), { key: 'epoch' }),
    /top-level key "epoch" is number, not a dict/,
  );
});

test('tiny_sam.pth (shared SAM fixture): 202 tensors, keys and shapes of the config, bytes equal to torch', async () => {
  const path = join(samDir, 'tiny_sam.pth');
  const config = JSON.parse(readFileSync(join(samDir, 'tiny_sam_config.json'), 'utf8')) as {
    tensors: { key: string; shape: number[]; dtype: string }[];
  };
  let lastProgress = [0, 0];
  const sd = await loadPthStateDict(path, { onProgress: (b, t) => (lastProgress = [b, t]) });
  assert.equal(Object.keys(sd).length, 202);
  assert.deepEqual(
    Object.entries(sd).map(([k, t]) => ({ key: k, shape: t.shape, dtype: t.dtype })),
    config.tensors,
  );
  assert.equal(lastProgress[0], 469576 * 4);
  assert.equal(lastProgress[0], lastProgress[1]);
  const want = expected['tiny_sam.pth'].tensors as unknown as Record<string, { sha256: string; sum: number }>;
  for (const [k, t] of Object.entries(sd)) {
    assert.equal(
      createHash('sha256').update(t.data).digest('hex'),
      want[k].sha256,
      `${k}: bytes differ from torch's`,
    );
  }
});

test('tiny_sam.pth weights reproduce the official model outputs recorded in the SAM fixture', async () => {
  const sd = await loadPthStateDict(join(samDir, 'tiny_sam.pth'));
  const bin = (p: string) => {
    const b = readFileSync(join(samDir, p));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const w = (k: string) => typedView(sd[k]) as Float32Array;
  // A lone point is padded with a "not a point" token: sparse_embeddings[0, 1] is that weight exactly.
  const sparse = bin('landscape/point1/multi/sparse_embeddings.bin'); // [1, 2, 64]
  assert.deepEqual(sparse.subarray(64, 128), w('prompt_encoder.not_a_point_embed.weight'));
  // Without a mask input the dense embedding is no_mask_embed at every position: [1, 64, 16, 16].
  const dense = bin('landscape/point1/multi/dense_embeddings.bin');
  const noMask = w('prompt_encoder.no_mask_embed.weight');
  for (let c = 0; c < 64; c++) for (let p = 0; p < 256; p++) assert.equal(dense[c * 256 + p], noMask[c]);
  // Patch embedding = 16x16 stride-16 conv of the input: input [1, 3, 256, 256] -> out [1, 16, 16, 64].
  const x = bin('landscape/input_tensor.bin');
  const got = bin('landscape/encoder/patch_embed.bin');
  const kw = w('image_encoder.patch_embed.proj.weight'); // [64, 3, 16, 16]
  const kb = w('image_encoder.patch_embed.proj.bias');
  let maxErr = 0;
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      for (let o = 0; o < 64; o++) {
        let s = kb[o];
        for (let c = 0; c < 3; c++) {
          for (let u = 0; u < 16; u++) {
            const xrow = c * 65536 + (i * 16 + u) * 256 + j * 16;
            const krow = ((o * 3 + c) * 16 + u) * 16;
            for (let v = 0; v < 16; v++) s += x[xrow + v] * kw[krow + v];
          }
        }
        maxErr = Math.max(maxErr, Math.abs(s - got[(i * 16 + j) * 64 + o]));
      }
    }
  }
  assert.ok(maxErr < 1e-4, `patch embedding differs by ${maxErr}`);
});

test('malicious pickles (os.system, eval) are refused by name and their payload never runs', async () => {
  const markers = ['/tmp/wish-pth-fixture-pwned-system', '/tmp/wish-pth-fixture-pwned-eval'];
  for (const m of markers) rmSync(m, { force: true });
  await assert.rejects(readPth(fx('evil_system.pth')), (e: Error) => {
    assert.match(
      e.message,
      /evil_system\.pth \(evil_system\/data\.pkl\): refusing to load global "posix\.system"/,
    );
    return true;
  });
  await assert.rejects(loadPthStateDict(fx('evil_eval.pth')), /refusing to load global "__builtin__\.eval"/);
  for (const m of markers) assert.equal(existsSync(m), false, `${m} was created: payload ran`);
});

test('legacy, truncated, empty and non-zip files give clear errors', async () => {
  await assert.rejects(readPth(fx('legacy.pth')), /legacy \(non-zip\) torch\.save format is not supported/);
  const dir = mkdtempSync(join(tmpdir(), 'wish-pth-'));
  try {
    const full = readFileSync(fx('state_dict.pth'));
    // A download cut short: the central directory (at the end) is missing.
    for (const keep of [full.length - 10, Math.floor(full.length / 2), 100]) {
      const p = join(dir, `cut${keep}.pth`);
      writeFileSync(p, full.subarray(0, keep));
      await assert.rejects(readPth(p), /file is truncated or not a torch\.save zip/);
    }
    const empty = join(dir, 'empty.pth');
    writeFileSync(empty, '');
    await assert.rejects(readPth(empty), /empty\.pth: file is truncated or not a torch\.save zip/);
    const text = join(dir, 'text.pth');
    writeFileSync(text, 'hello world, not a checkpoint');
    await assert.rejects(readPth(text), /text\.pth: file is truncated or not a torch\.save zip/);
    await assert.rejects(readPth(fx('pickles/plain_p2.pkl')), /a bare pickle, not a torch\.save zip/);
    await assert.rejects(readPth(join(dir, 'missing.pth')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a storage entry shorter than its view is reported with the storage key', async () => {
  // Rewrite one storage entry of a STORED zip in place: shrink its declared numel in the pickle by
  // swapping the pickle's BININT2 for views' base storage (24 elements) with a smaller number.
  const buf = Buffer.from(readFileSync(fx('views.pth')));
  const pkl = buf.indexOf(Buffer.from('views/data.pkl'));
  assert.ok(pkl > 0);
  // 'K\x18' is BININT1 24: the numel of storage "0" in the persistent id; make it 12.
  const at = buf.indexOf(Buffer.from([0x4b, 24, 0x74]), pkl);
  assert.ok(at > 0);
  buf[at + 1] = 12;
  const dir = mkdtempSync(join(tmpdir(), 'wish-pth-'));
  try {
    const p = join(dir, 'views.pth');
    writeFileSync(p, buf);
    await assert.rejects(
      readPth(p),
      /storage "0": view \(offset 0, size \[4, 6\], stride \[6, 1\]\) reaches element 23 of a 12-element storage/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fuzz: corrupted .pth archives end in an error naming the file, never a crash or hang', async () => {
  const seeds = ['state_dict.pth', 'views.pth', 'nested.pth'].map((n) => readFileSync(fx(n)));
  const dir = mkdtempSync(join(tmpdir(), 'wish-pth-fuzz-'));
  try {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        async (s, edits, cut) => {
          const b = Buffer.from(seeds[s]);
          // Aim half the edits at the end, where the central directory and pickle structure live.
          for (const [k, { at, value }] of edits.entries())
            b[k % 2 ? b.length - 1 - (at % 200) : at % b.length] = value;
          const p = join(dir, `f${i++}.pth`);
          writeFileSync(p, cut === undefined ? b : b.subarray(0, cut % b.length));
          try {
            await readPth(p);
          } catch (e) {
            assert.ok(e instanceof Error);
            assert.ok(e.message.includes(p), `error does not name the file: ${e.message}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
