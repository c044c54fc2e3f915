// safetensors read/write: the project's own checkpoint format.
//
// Layout (as the reference implementation defines it):
//   u64 little-endian N | N bytes of UTF-8 JSON header, space-padded to a multiple of 8 | data
//   header = { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ...,
//              "__metadata__": { "<str>": "<str>" } }   (offsets relative to the data section)
// Tensors tile the data section exactly: sorted by begin they are contiguous, from 0 to its end,
// with no gap, overlap or trailing byte. We write them in the reference writer's order (largest dtype
// first, then by name), so every tensor starts at a multiple of its element size (the header is
// padded to 8 for the same reason).
//
// Reading keeps an open file handle and reads each tensor's bytes straight into that tensor's own
// buffer: one copy from the kernel, nothing read that was not asked for.
//
// Training checkpoints (see training-state.ts) use this same file with a naming convention:
//   <param name>                      model weights and buffers, exactly the module's state-dict keys
//   optim/<param name>/<slot>         optimiser state per parameter (slot: exp_avg, exp_avg_sq,
//                                     momentum_buffer, ...)
//   __metadata__.format = "wish.checkpoint/1"
//   __metadata__.optim  = JSON {type, groups: [{params: [names], lr, weight_decay, ...}], step: {name: n}}
//   __metadata__.train  = JSON of the trainer's own scalars (epoch, global step, rng seed, config hash ...)
// Any other __metadata__ entries are free-form strings.

import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { allocForRead, byteLength, checkRaw, type DType, type RawTensor } from './raw.ts';

/** safetensors dtype tag <-> our dtype names. */
const TAG_TO_DTYPE: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const DTYPE_TO_TAG = Object.fromEntries(Object.entries(TAG_TO_DTYPE).map(([k, v]) => [v, k])) as Record<
  DType,
  string
>;

/** Position in the reference implementation's Dtype enum (BOOL < U8 < I8 < ... < F64 < I64). */
const DTYPE_RANK: Readonly<Record<DType, number>> = {
  bool: 0,
  uint8: 1,
  int8: 2,
  int16: 3,
  float16: 4,
  bfloat16: 5,
  int32: 6,
  float32: 7,
  float64: 8,
  int64: 9,
};

/** The reference refuses headers above 100 MB; so do we (a corrupt length must not allocate GBs). */
const MAX_HEADER_BYTES = 100_000_000;
/** fs reads are capped at 2 GiB - 1 per call. */
const MAX_IO_CHUNK = 1 << 30;

export interface SafetensorsEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte range in the file. */
  start: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Byte offset where the data section begins (8 + N). */
  dataStart: number;
}

function fail(file: string, msg: string): never {
  throw new Error(`${file}: ${msg}`);
}

/**
 * Validates and decodes a header. `headerBytes` are the N JSON bytes; `dataLength` is the size of
 * the data section (file size - 8 - N).
 */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, file: string): SafetensorsHeader {
  let json: unknown;
  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail(file, 'safetensors header is not valid UTF-8');
  }
  if (!text.startsWith('{'))
    fail(file, 'safetensors header does not start with "{" (not a safetensors file?)');
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(file, `safetensors header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    fail(file, 'header is not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  const dataStart = 8 + headerBytes.byteLength;
  for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        fail(file, '__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') fail(file, `__metadata__["${k}"] is not a string`);
        if (k === '__proto__') fail(file, '__metadata__ key "__proto__" is not allowed');
        metadata[k] = s;
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (name === '__proto__') fail(file, `${where}: name not allowed`);
    if (typeof v !== 'object' || v === null) fail(file, `${where}: header entry is not an object`);
    const { dtype: tag, shape, data_offsets: offs } = v as Record<string, unknown>;
    if (typeof tag !== 'string' || !(tag in TAG_TO_DTYPE)) {
      fail(
        file,
        `${where}: dtype ${JSON.stringify(tag)} is not supported (known: ${Object.keys(TAG_TO_DTYPE).join(', ')})`,
      );
    }
    const dtype = TAG_TO_DTYPE[tag];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, `${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    }
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offs[1] < offs[0]
    ) {
      fail(file, `${where}: data_offsets ${JSON.stringify(offs)} is not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offs as [number, number];
    const want = byteLength(dtype, shape as number[]);
    if (end - begin !== want) {
      fail(
        file,
        `${where}: ${tag} [${shape.join(', ')}] needs ${want} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataLength) {
      fail(
        file,
        `${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes): file truncated?`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], start: dataStart + begin, end: dataStart + end });
  }
  // Contiguity: sorted by begin, each tensor starts where the previous ended.
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.end - b.end);
  let expected = dataStart;
  let prev = '';
  for (const e of sorted) {
    if (e.start < expected) {
      fail(file, `tensor "${e.name}": data_offsets overlap tensor "${prev}"`);
    }
    if (e.start > expected) {
      fail(
        file,
        `tensor "${e.name}": gap of ${e.start - expected} bytes before its data_offsets (not contiguous)`,
      );
    }
    expected = e.end;
    prev = e.name;
  }
  if (expected !== dataStart + dataLength) {
    fail(file, `${dataStart + dataLength - expected} trailing bytes after the last tensor's data`);
  }
  return { entries: new Map(entries.map((e) => [e.name, e])), metadata, dataStart };
}

async function readFully(fh: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.byteLength) {
    const len = Math.min(into.byteLength - done, MAX_IO_CHUNK);
    const { bytesRead } = await fh.read(into, done, len, position + done);
    if (bytesRead === 0) fail(file, `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

/** An open safetensors file; tensors are read on demand. Close it when done. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const fh = await open(path, 'r');
    try {
      const size = (await fh.stat()).size;
      if (size < 8) fail(path, `file is ${size} bytes, too short for a safetensors header`);
      const lenBuf = new Uint8Array(8);
      await readFully(fh, lenBuf, 0, path);
      const n = new DataView(lenBuf.buffer).getBigUint64(0, true);
      if (n > BigInt(MAX_HEADER_BYTES))
        fail(path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      if (8n + n > BigInt(size)) fail(path, `header length ${n} runs past the end of the ${size}-byte file`);
      const headerBytes = new Uint8Array(Number(n));
      await readFully(fh, headerBytes, 8, path);
      const header = parseHeader(headerBytes, size - 8 - Number(n), path);
      return new SafetensorsFile(path, fh, header);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  keys(): string[] {
    return [...this.header.entries.values()].sort((a, b) => a.start - b.start).map((e) => e.name);
  }

  info(name: string): SafetensorsEntry {
    const e = this.header.entries.get(name);
    if (!e) fail(this.path, `no tensor named "${name}"`);
    return e;
  }

  /** Reads one tensor's bytes and nothing else. */
  async read(name: string): Promise<RawTensor> {
    const e = this.info(name);
    const data = allocForRead(e.end - e.start);
    await readFully(this.fh, data, e.start, this.path);
    return { dtype: e.dtype, shape: [...e.shape], data };
  }

  /** Reads every tensor; `onProgress` gets cumulative and total data bytes. */
  async readAll(onProgress?: (bytes: number, total: number) => void): Promise<Record<string, RawTensor>> {
    const out: Record<string, RawTensor> = {};
    const names = this.keys();
    const total = names.reduce((s, k) => s + this.info(k).end - this.info(k).start, 0);
    let done = 0;
    for (const name of names) {
      out[name] = await this.read(name);
      done += out[name].data.byteLength;
      onProgress?.(done, total);
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Reads a whole safetensors file. */
export async function readSafetensors(
  path: string,
  onProgress?: (bytes: number, total: number) => void,
): Promise<{ tensors: Record<string, RawTensor>; metadata: Record<string, string> }> {
  const f = await SafetensorsFile.open(path);
  try {
    return { tensors: await f.readAll(onProgress), metadata: { ...f.metadata } };
  } finally {
    await f.close();
  }
}

/** Parses a safetensors file already in memory; tensors are views into `bytes` (no copy). */
export function parseSafetensors(
  bytes: Uint8Array,
  file = '<buffer>',
): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  if (bytes.byteLength < 8) fail(file, `${bytes.byteLength} bytes, too short for a safetensors header`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES))
    fail(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8n + n > BigInt(bytes.byteLength))
    fail(file, `header length ${n} runs past the end of the ${bytes.byteLength}-byte file`);
  const h = parseHeader(bytes.subarray(8, 8 + Number(n)), bytes.byteLength - 8 - Number(n), file);
  const tensors: Record<string, RawTensor> = {};
  for (const e of [...h.entries.values()].sort((a, b) => a.start - b.start)) {
    tensors[e.name] = { dtype: e.dtype, shape: [...e.shape], data: bytes.subarray(e.start, e.end) };
  }
  return { tensors, metadata: h.metadata };
}

/** What the header needs of a tensor: its data may come later (see writeSafetensorsFrom). */
export interface TensorSpec {
  dtype: DType;
  shape: number[];
}

/** A tensor whose bytes are produced only when the writer reaches it (e.g. copied off a device). */
export interface TensorSource extends TensorSpec {
  bytes(): Uint8Array | Promise<Uint8Array>;
}

/** Header bytes (length prefix included, padded) and the tensors in data order. */
export function encodeHeader(
  tensors: Record<string, TensorSpec>,
  metadata: Record<string, string> = {},
): { header: Uint8Array; order: string[]; sizes: Map<string, number> } {
  const names = Object.keys(tensors);
  const sizes = new Map<string, number>();
  for (const name of names) {
    if (name === '' || name === '__metadata__' || name === '__proto__') {
      throw new Error(`invalid tensor name ${JSON.stringify(name)}`);
    }
    const t = tensors[name];
    if (!(t.dtype in DTYPE_TO_TAG)) throw new Error(`tensor "${name}": unknown dtype ${String(t.dtype)}`);
    sizes.set(name, byteLength(t.dtype, t.shape));
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`metadata["${k}"] must be a string, got ${typeof v}`);
  }
  // The reference writer's order: dtype descending in its enum order (which runs by element size),
  // then name. Largest elements first keeps every tensor aligned to its element size.
  const order = names.sort(
    (a, b) => DTYPE_RANK[tensors[b].dtype] - DTYPE_RANK[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0),
  );
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  let offset = 0;
  for (const name of order) {
    const n = sizes.get(name) as number;
    json[name] = {
      dtype: DTYPE_TO_TAG[tensors[name].dtype],
      shape: tensors[name].shape,
      data_offsets: [offset, offset + n],
    };
    offset += n;
  }
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.byteLength / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + text.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, order, sizes };
}

function checkAll(tensors: Record<string, RawTensor>): void {
  for (const [name, t] of Object.entries(tensors)) checkRaw(t, `tensor "${name}"`);
}

/** Serialises to one in-memory buffer (small files and tests). */
export function serializeSafetensors(
  tensors: Record<string, RawTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  checkAll(tensors);
  const { header, order } = encodeHeader(tensors, metadata);
  const total = order.reduce((s, k) => s + tensors[k].data.byteLength, header.byteLength);
  const out = new Uint8Array(total);
  out.set(header, 0);
  let at = header.byteLength;
  for (const k of order) {
    out.set(tensors[k].data, at);
    at += tensors[k].data.byteLength;
  }
  return out;
}

/**
 * Writes tensors to `path` atomically: a temporary file in the same folder is written, fsynced and
 * renamed over `path`, so a crash or error never leaves a half-written checkpoint under that name.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, RawTensor>,
  metadata: Record<string, string> = {},
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  checkAll(tensors); // validate before touching the disk
  const sources: Record<string, TensorSource> = {};
  for (const [k, t] of Object.entries(tensors))
    sources[k] = { dtype: t.dtype, shape: t.shape, bytes: () => t.data };
  await writeSafetensorsFrom(path, sources, metadata, onProgress);
}

/**
 * writeSafetensors for tensors whose bytes are fetched one at a time while writing, so a model
 * living in native or GPU memory is never copied to JavaScript whole.
 */
export async function writeSafetensorsFrom(
  path: string,
  sources: Record<string, TensorSource>,
  metadata: Record<string, string> = {},
  onProgress?: (bytes: number, total: number) => void,
): Promise<void> {
  const { header, order, sizes } = encodeHeader(sources, metadata);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx');
    await writeFully(fh, header);
    let done = 0;
    for (const k of order) {
      const data = await sources[k].bytes();
      if (data.byteLength !== sizes.get(k)) {
        throw new Error(
          `tensor "${k}" produced ${data.byteLength} bytes, its dtype and shape need ${sizes.get(k)}`,
        );
      }
      await writeFully(fh, data);
      done += data.byteLength;
      onProgress?.(done, total);
    }
    await fh.sync();
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw new Error(`${path}: writing safetensors failed: ${(e as Error).message}`, { cause: e });
  }
  // Persist the rename itself; some filesystems refuse fsync on a directory, which is harmless here.
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  await dir?.sync().catch(() => {});
  await dir?.close();
}

async function writeFully(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const len = Math.min(data.byteLength - done, MAX_IO_CHUNK);
    const { bytesWritten } = await fh.write(data, done, len);
    done += bytesWritten;
  }
}
