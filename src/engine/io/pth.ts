// Reading PyTorch `.pth` checkpoints (torch.save's zip format, torch >= 1.6) without Python.
//
// Archive layout: `<folder>/data.pkl` (the pickled object), `<folder>/data/<key>` (one raw
// storage per key, little-endian unless `<folder>/byteorder` says "big"), `<folder>/version`.
// The folder name varies ("archive", the file's stem, ...): it is whatever precedes `/data.pkl`.
// The pickle references storages by persistent id ('storage', <torch.XStorage>, key, device, numel)
// and builds tensors with torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...).
// Only the globals that a saved state dict needs are allowed (see TORCH_GLOBALS); the unpickler
// refuses everything else before doing anything with it, and no Python code can ever run here.

import { open } from 'node:fs/promises';
import { DTYPE_SIZE, numel, type DType, type RawTensor } from './raw.ts';
import { describe, PyDict, PyGlobal, PyTuple, unpickle, type GlobalImpl, type PyValue } from './pickle.ts';
import { ZipReader } from './zip.ts';

const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  'torch.FloatStorage': 'float32',
  'torch.DoubleStorage': 'float64',
  'torch.HalfStorage': 'float16',
  'torch.BFloat16Storage': 'bfloat16',
  'torch.LongStorage': 'int64',
  'torch.IntStorage': 'int32',
  'torch.ShortStorage': 'int16',
  'torch.CharStorage': 'int8',
  'torch.ByteStorage': 'uint8',
  'torch.BoolStorage': 'bool',
};

/** A storage named by a persistent id; its bytes stay in the archive until a tensor needs them. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

/** A tensor as the pickle describes it: a strided view into a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
    readonly requiresGrad: boolean,
  ) {}
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function intTuple(v: PyValue, what: string): number[] {
  if (!(v instanceof PyTuple) || !v.items.every(isInt))
    throw new Error(`${what} is ${describe(v)}, not a tuple of ints`);
  return v.items as number[];
}

function rebuildTensor(args: PyValue[]): TensorRef {
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof StorageRef)) throw new Error(`storage argument is ${describe(storage)}`);
  if (!isInt(offset)) throw new Error(`storage offset is ${describe(offset)}`);
  const sz = intTuple(size as PyValue, 'size');
  const st = intTuple(stride as PyValue, 'stride');
  if (sz.length !== st.length) throw new Error(`size has ${sz.length} dims but stride has ${st.length}`);
  return new TensorRef(storage, offset, sz, st, requiresGrad === true);
}

const marker: GlobalImpl = {};

/** The allow-list: what torch.save of a state dict (or a dict holding state dicts) produces. */
export const TORCH_GLOBALS: Readonly<Record<string, GlobalImpl>> = {
  'collections.OrderedDict': {
    call: (args) => {
      const d = new PyDict('collections.OrderedDict');
      const init = args[0];
      if (Array.isArray(init)) {
        for (const kv of init) {
          if (!(kv instanceof PyTuple) || kv.items.length !== 2)
            throw new Error('OrderedDict items must be pairs');
          d.map.set(kv.items[0] as string, kv.items[1]);
        }
      } else if (args.length > 0) throw new Error(`OrderedDict(${describe(init)}) is not supported`);
      return d;
    },
  },
  'torch._utils._rebuild_tensor_v2': { call: rebuildTensor },
  'torch._utils._rebuild_tensor': { call: rebuildTensor },
  'torch._utils._rebuild_parameter': { call: (args) => rebuildParameter(args) },
  'torch._utils._rebuild_parameter_with_state': { call: (args) => rebuildParameter(args) },
  // torch >= 1.12 wraps tensor subclasses (nn.Parameter) as _rebuild_from_type_v2(func, type, args, state).
  'torch._tensor._rebuild_from_type_v2': {
    call: ([fn, type, args]) => {
      if (!(fn instanceof PyGlobal) || !fn.impl.call) throw new Error(`rebuild function is ${describe(fn)}`);
      if (
        !(type instanceof PyGlobal) ||
        !['torch.Tensor', 'torch.nn.parameter.Parameter'].includes(type.qualname)
      ) {
        throw new Error(`tensor type ${describe(type)} is not allowed`);
      }
      if (!(args instanceof PyTuple)) throw new Error(`rebuild arguments are ${describe(args)}`);
      return fn.impl.call(args.items);
    },
  },
  'torch.Tensor': marker,
  'torch.nn.parameter.Parameter': marker,
  // Protocol 2 pickles Python 3 bytes as _codecs.encode(text, 'latin1'): a pure conversion.
  '_codecs.encode': {
    call: ([text, enc]) => {
      if (typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) {
        throw new Error('only _codecs.encode(str, "latin1") is allowed');
      }
      return new Uint8Array(Buffer.from(text, 'latin1'));
    },
  },
  ...Object.fromEntries(Object.keys(STORAGE_DTYPES).map((k) => [k, marker])),
};

function rebuildParameter(args: PyValue[]): TensorRef {
  const [data, requiresGrad] = args;
  if (!(data instanceof TensorRef)) throw new Error(`parameter data is ${describe(data)}, not a tensor`);
  return new TensorRef(data.storage, data.offset, data.size, data.stride, requiresGrad === true);
}

function persistentLoad(pid: PyValue): StorageRef {
  if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage' || pid.items.length !== 5) {
    throw new Error(`persistent id ${describe(pid)} is not ('storage', type, key, location, numel)`);
  }
  const [, type, key, , n] = pid.items;
  if (!(type instanceof PyGlobal) || !(type.qualname in STORAGE_DTYPES)) {
    throw new Error(`storage type ${describe(type)} is not supported`);
  }
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key))
    throw new Error(`storage key ${JSON.stringify(key)} is invalid`);
  if (!isInt(n)) throw new Error(`storage size ${describe(n)} is invalid`);
  return new StorageRef(key, STORAGE_DTYPES[type.qualname], n);
}

/** Unpickles a torch data.pkl against the allow-list; tensors come back as unread TensorRefs. */
export function unpickleTorch(pickle: Uint8Array, file: string): PyValue {
  return unpickle(pickle, { file, globals: TORCH_GLOBALS, persistentLoad });
}

/** torch's legacy (pre-1.6, or _use_new_zipfile_serialization=False) files open with this pickled magic number. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

async function sniff(path: string): Promise<void> {
  const fh = await open(path, 'r');
  const head = new Uint8Array(LEGACY_MAGIC.length);
  let n: number;
  try {
    n = (await fh.read(head, 0, head.length, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return;
  if (n === LEGACY_MAGIC.length && LEGACY_MAGIC.every((b, i) => head[i] === b)) {
    throw new Error(
      `${path}: legacy (non-zip) torch.save format is not supported; re-save it with torch >= 1.6: ` +
        `torch.save(torch.load(path), new_path)`,
    );
  }
  if (n > 0 && head[0] === 0x80) throw new Error(`${path}: a bare pickle, not a torch.save zip archive`);
  throw new Error(`${path}: file is truncated or not a torch.save zip (no zip signature at the start)`);
}

export interface PthFile {
  /** The unpickled object; every tensor in it is a RawTensor (contiguous, C order). */
  root: PyValue;
  /** The archive folder name (what precedes /data.pkl). */
  folder: string;
}

export interface PthOptions {
  /** Called with cumulative and total tensor bytes as tensors are read. */
  onProgress?: (bytes: number, total: number) => void;
}

/** Refuses to walk structures nested deeper than any real checkpoint (and cyclic ones). */
const MAX_DEPTH = 64;

/** Reads a .pth file: the object tree with tensors materialised. */
export async function readPth(path: string, opts: PthOptions = {}): Promise<PthFile> {
  await sniff(path);
  const zip = await ZipReader.open(path).catch((e: Error) => {
    throw new Error(`${path}: file is truncated or not a torch.save zip (${e.message})`);
  });
  try {
    const pkls = [...zip.entries.keys()].filter(
      (n) => n.endsWith('/data.pkl') && n.indexOf('/') === n.length - 9,
    );
    if (pkls.length !== 1) {
      const hint = [...zip.entries.keys()].some((n) => n.includes('/code/'))
        ? ' (this looks like a TorchScript archive from torch.jit.save, not a state dict)'
        : '';
      throw new Error(`${path}: expected one <folder>/data.pkl in the archive, found ${pkls.length}${hint}`);
    }
    const folder = pkls[0].slice(0, -'/data.pkl'.length);
    let bigEndian = false;
    if (zip.entries.has(`${folder}/byteorder`)) {
      const order = new TextDecoder().decode(await zip.readAll(`${folder}/byteorder`)).trim();
      if (order !== 'little' && order !== 'big') throw new Error(`${path}: byteorder entry says "${order}"`);
      bigEndian = order === 'big';
    }
    const pickle = await zip.readAll(pkls[0]);
    const root = unpickleTorch(pickle, `${path} (${pkls[0]})`);

    // Collect tensors first so progress has a total.
    const refs = new Set<TensorRef>();
    const collect = (v: PyValue, depth: number): void => {
      if (depth > MAX_DEPTH) throw new Error(`${path}: object nesting deeper than ${MAX_DEPTH} (or cyclic)`);
      if (v instanceof TensorRef) refs.add(v);
      else if (Array.isArray(v)) v.forEach((x) => collect(x, depth + 1));
      else if (v instanceof PyTuple) v.items.forEach((x) => collect(x, depth + 1));
      else if (v instanceof PyDict) {
        v.map.forEach((x) => collect(x, depth + 1));
        v.attrs.forEach((x) => collect(x, depth + 1));
      }
    };
    collect(root, 0);
    const total = [...refs].reduce((s, r) => s + numel(r.size) * DTYPE_SIZE[r.storage.dtype], 0);
    let done = 0;
    const tensors = new Map<TensorRef, RawTensor>();
    // A few reads in flight at once: per-tensor latency (local header + data) dominates small files.
    // Every worker settles before the archive closes (a late read must not hit a closed fd).
    const queue = [...refs];
    let failed = false;
    const worker = async (): Promise<void> => {
      for (let ref = queue.shift(); ref && !failed; ref = queue.shift()) {
        try {
          const t = await materialise(zip, folder, ref, bigEndian);
          tensors.set(ref, t);
          done += t.data.byteLength;
          opts.onProgress?.(done, total);
        } catch (e) {
          failed = true;
          throw e;
        }
      }
    };
    const results = await Promise.allSettled([worker(), worker(), worker(), worker()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    const replace = (v: PyValue): PyValue => {
      if (v instanceof TensorRef) return tensors.get(v) as RawTensor;
      if (Array.isArray(v)) return v.map(replace);
      if (v instanceof PyTuple) return new PyTuple(v.items.map(replace));
      if (v instanceof PyDict) {
        const d = new PyDict(v.className);
        v.map.forEach((x, k) => d.map.set(k, replace(x)));
        v.attrs.forEach((x, k) => d.attrs.set(k, replace(x)));
        return d;
      }
      return v;
    };
    return { root: replace(root), folder };
  } finally {
    zip.close();
  }
}

/** Reads the bytes a strided view needs and returns them contiguous, in C order. */
async function materialise(
  zip: ZipReader,
  folder: string,
  ref: TensorRef,
  bigEndian: boolean,
): Promise<RawTensor> {
  const { storage, offset, size, stride } = ref;
  const dtype = storage.dtype;
  const item = DTYPE_SIZE[dtype];
  const entryName = `${folder}/data/${storage.key}`;
  const what = `${zip.path}: storage "${storage.key}"`;
  const entry = zip.entries.get(entryName);
  if (!entry) throw new Error(`${what}: archive has no entry ${entryName}`);
  if (entry.uncompressedSize < storage.numel * item) {
    throw new Error(
      `${what}: entry holds ${entry.uncompressedSize} bytes but ${storage.numel} ${dtype} need ${storage.numel * item}`,
    );
  }
  const n = numel(size);
  const shape = [...size];
  if (n === 0) return { dtype, shape, data: new Uint8Array(0) };
  let extent = offset + 1;
  for (let i = 0; i < size.length; i++) extent += (size[i] - 1) * stride[i];
  if (extent > storage.numel) {
    throw new Error(
      `${what}: view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) reaches element ` +
        `${extent - 1} of a ${storage.numel}-element storage`,
    );
  }
  let data: Uint8Array;
  if (isContiguous(size, stride)) {
    data = await zip.readRange(entryName, offset * item, n * item);
  } else {
    const span = await zip.readRange(entryName, offset * item, (extent - offset) * item);
    data = gather(span, size, stride, item);
  }
  if (bigEndian && item > 1) swapBytes(data, item);
  return { dtype, shape, data };
}

function isContiguous(size: number[], stride: number[]): boolean {
  let expect = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expect) return false;
    expect *= size[i];
  }
  return true;
}

/** Copies a strided view (relative to `src`'s start) into a new contiguous buffer, C order. */
function gather(src: Uint8Array, size: number[], stride: number[], item: number): Uint8Array {
  const nd = size.length;
  const out = new Uint8Array(numel(size) * item);
  if (nd === 0) {
    out.set(src.subarray(0, item));
    return out;
  }
  const last = nd - 1;
  const inner = size[last];
  const step = stride[last];
  // Element copies go word by word through aligned views (src and out own their buffers).
  const w = item % 4 === 0 ? 4 : item;
  const words = item / w;
  const as = (b: Uint8Array) =>
    w === 4
      ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4)
      : w === 2
        ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2)
        : b;
  const aligned = src.byteOffset % w === 0;
  const from = as(aligned ? src : src.slice());
  const to = as(out);
  const idx = new Array<number>(last).fill(0);
  let o = 0;
  for (;;) {
    let base = 0;
    for (let d = 0; d < last; d++) base += idx[d] * stride[d];
    if (step === 1) {
      out.set(src.subarray(base * item, (base + inner) * item), o * item);
      o += inner;
    } else {
      for (let j = 0; j < inner; j++) {
        const at = (base + j * step) * words;
        for (let k = 0; k < words; k++) to[o * words + k] = from[at + k];
        o++;
      }
    }
    let d = last - 1;
    for (; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}

function swapBytes(data: Uint8Array, item: number): void {
  for (let i = 0; i < data.byteLength; i += item) {
    for (let a = i, b = i + item - 1; a < b; a++, b--) {
      const t = data[a];
      data[a] = data[b];
      data[b] = t;
    }
  }
}

export function isRawTensor(v: unknown): v is RawTensor {
  return (
    typeof v === 'object' &&
    v !== null &&
    'dtype' in v &&
    'shape' in v &&
    (v as RawTensor).data instanceof Uint8Array
  );
}

export interface StateDictOptions extends PthOptions {
  /** Top-level key holding the state dict, e.g. "model" or "state_dict". Picked automatically when unambiguous. */
  key?: string;
}

const WRAPPER_KEYS = ['model', 'state_dict', 'model_state_dict', 'module'];

/**
 * A flat name -> tensor state dict from a .pth: the root itself when it is a dict of tensors, or
 * the dict under `opts.key` (or under "model" / "state_dict" / ... when the root wraps one, as
 * training checkpoints from torchvision and detectron2 do).
 */
export async function loadPthStateDict(
  path: string,
  opts: StateDictOptions = {},
): Promise<Record<string, RawTensor>> {
  const { root } = await readPth(path, opts);
  if (!(root instanceof PyDict))
    throw new Error(`${path}: top-level object is ${describe(root)}, not a dict`);
  const allTensors = (d: PyDict): boolean => [...d.map.values()].every(isRawTensor);
  let sd: PyDict | undefined;
  if (opts.key !== undefined) {
    const v = root.get(opts.key);
    if (!(v instanceof PyDict)) {
      throw new Error(
        `${path}: top-level key "${opts.key}" is ${v === undefined ? 'missing' : describe(v)}, not a dict`,
      );
    }
    sd = v;
  } else if (allTensors(root)) {
    sd = root;
  } else {
    const found = WRAPPER_KEYS.map((k) => root.get(k)).filter(
      (v): v is PyDict => v instanceof PyDict && allTensors(v),
    );
    if (found.length === 1) sd = found[0];
  }
  if (!sd) {
    const keys = [...root.map.keys()].slice(0, 20).map(String).join(', ');
    throw new Error(
      `${path}: cannot tell which entry is the state dict (top-level keys: ${keys}); pass the key`,
    );
  }
  const out: Record<string, RawTensor> = {};
  for (const [k, v] of sd.map) {
    if (typeof k !== 'string' || k === '__proto__')
      throw new Error(`${path}: state-dict key ${String(k)} is not allowed`);
    if (!isRawTensor(v)) throw new Error(`${path}: state-dict entry "${k}" is ${describe(v)}, not a tensor`);
    out[k] = v;
  }
  return out;
}
