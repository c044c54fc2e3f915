// A restricted unpickler: decodes Python pickles (protocols 0-5, binary opcodes plus the simple
// text ones) into plain JavaScript values. It can never run code: a GLOBAL is looked up in the
// caller's allow-list the moment it is read, and an unknown one aborts the whole load with an error
// naming it. "Calls" (REDUCE) invoke only the TypeScript implementations in that allow-list.
// Every length is checked against the bytes left, and each opcode consumes at least one byte, so
// hostile input ends in an error, never a hang or an unbounded allocation.

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export type DictKey = string | number | bigint | boolean | null;

/** dict or collections.OrderedDict; `attrs` holds instance attributes set through BUILD (e.g. _metadata). */
export class PyDict {
  readonly map = new Map<DictKey, PyValue>();
  readonly attrs = new Map<string, PyValue>();
  constructor(readonly className: string = 'dict') {}
  get(k: DictKey): PyValue | undefined {
    return this.map.get(k);
  }
}

/** A reference to an allowed global (a class or function from the allow-list). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly impl: GlobalImpl,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Values the unpickler produces; `object` covers whatever the allow-list's functions return. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | Set<DictKey>
  | PyGlobal
  | object;

export interface GlobalImpl {
  /** What REDUCE does with this global; absent for globals that are only markers (storage types). */
  call?: (args: PyValue[]) => PyValue;
}

export interface UnpickleOptions {
  /** Shown in every error, e.g. "model.pth (archive/data.pkl)". */
  file: string;
  /** "module.name" -> implementation. Anything else is refused. */
  globals: Readonly<Record<string, GlobalImpl>>;
  /** BINPERSID / PERSID handler; absent means persistent ids are refused. */
  persistentLoad?: (pid: PyValue) => PyValue;
}

/** Python ints beyond 2^53 stay bigint; refuse absurd ones (a state dict never has them). */
const MAX_LONG_BYTES = 64;

export class UnpicklingError extends Error {}

export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let opPos = 0;

  const fail = (msg: string): never => {
    throw new UnpicklingError(`${opts.file}: pickle: ${msg} (opcode at byte ${opPos})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > bytes.byteLength)
      fail(`truncated: needs ${n} bytes, ${bytes.byteLength - pos} left`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.byteLength)) fail(`length ${v} exceeds the pickle's size`);
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const utf8 = (b: Uint8Array): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const latin1 = (b: Uint8Array): string =>
    Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const s = Buffer.from(bytes.buffer, bytes.byteOffset + pos, end - pos).toString('latin1');
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]))
      fail('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]))
      fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK on the stack');
    return stack.splice(m as number);
  };
  const resolveGlobal = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    const impl = Object.hasOwn(opts.globals, q) ? opts.globals[q] : undefined;
    if (!impl) {
      throw new UnpicklingError(
        `${opts.file}: refusing to load global "${q}" from the pickle: only tensors and plain containers are allowed ` +
          `(allowed globals: ${Object.keys(opts.globals).join(', ')})`,
      );
    }
    return new PyGlobal(module, name, impl);
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.byteLength === 0) return 0;
    if (b.byteLength > MAX_LONG_BYTES) fail(`integer of ${b.byteLength} bytes is too large`);
    let v = 0n;
    for (let i = b.byteLength - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.byteLength - 1] & 0x80) v -= 1n << BigInt(8 * b.byteLength);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const asKey = (k: PyValue): DictKey => {
    if (k === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof k)) return k as DictKey;
    return fail(`unsupported dict key type ${describe(k)}`);
  };
  const setItems = (d: PyValue, kv: PyValue[]): void => {
    if (!(d instanceof PyDict)) fail(`SETITEM(S) on ${describe(d)}, not a dict`);
    if (kv.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < kv.length; i += 2) (d as PyDict).map.set(asKey(kv[i]), kv[i + 1]);
  };
  const appendItems = (l: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(l)) fail(`APPEND(S) on ${describe(l)}, not a list`);
    for (const it of items) (l as PyValue[]).push(it);
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) fail(`memo key ${i} was never stored`);
    return memo.get(i) as PyValue;
  };
  const textInt = (s: string): number | bigint | boolean => {
    const t = s.trim().replace(/L$/, '');
    if (t === '01') return true;
    if (t === '00') return false;
    if (!/^[+-]?\d+$/.test(t) || t.length > 40) fail(`bad integer literal ${JSON.stringify(s)}`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opPos = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: framing is only a buffering hint
        u64();
        break;
      case 0x2e: // STOP
        if (marks.length > 0) fail('STOP inside an open MARK');
        return pop();
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        stack.push(long(take(n)));
        break;
      }
      case 0x49: // INT (text)
        stack.push(textInt(line()));
        break;
      case 0x4c: // LONG (text)
        stack.push(textInt(line()));
        break;
      case 0x47: {
        // BINFLOAT: big-endian double
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const s = line().trim();
        if (!/^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|inf|nan)$/i.test(s))
          fail(`bad float literal ${JSON.stringify(s)}`);
        stack.push(Number(s.replace(/inf/i, 'Infinity').replace(/nan/i, 'NaN')));
        break;
      }
      case 0x56: // UNICODE (text, raw-unicode-escape): pickle escapes \\, \n, \r, \0 as \uXXXX too
        stack.push(
          line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u: string, U: string) => {
            const cp = parseInt(u ?? U, 16);
            if (cp > 0x10ffff) fail(`invalid code point in UNICODE`);
            return String.fromCodePoint(cp);
          }),
        );
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(take(u64())));
        break;
      case 0x54: {
        // BINSTRING (Python 2 str): decode as latin-1 like encoding='latin1'
        const n = i32();
        if (n < 0) fail('negative BINSTRING length');
        stack.push(latin1(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set<DictKey>());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS on ${describe(s)}, not a set`);
        for (const it of items) (s as Set<DictKey>).add(asKey(it));
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set<DictKey>(popMark().map(asKey)));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number(textInt(line())), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET (text)
        stack.push(memoGet(Number(textInt(line()))));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) return fail(`REDUCE on ${describe(fn)}, not an allowed global`);
        if (!(args instanceof PyTuple))
          return fail(`REDUCE of ${fn.qualname} with ${describe(args)}, not a tuple`);
        if (!fn.impl.call) return fail(`${fn.qualname} cannot be called`);
        try {
          stack.push(fn.impl.call(args.items));
        } catch (e) {
          if (e instanceof UnpicklingError) throw e;
          fail(`${fn.qualname}: ${(e as Error).message}`);
        }
        break;
      }
      case 0x62: {
        // BUILD: only instance attributes of a dict subclass (OrderedDict._metadata)
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict) || obj.className === 'dict')
          fail(`BUILD on ${describe(obj)} is not supported`);
        if (state === null) break;
        if (!(state instanceof PyDict)) fail(`BUILD with ${describe(state)} state is not supported`);
        for (const [k, v] of (state as PyDict).map) {
          if (typeof k !== 'string') fail('BUILD state has a non-string attribute name');
          (obj as PyDict).attrs.set(k as string, v);
        }
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) return fail('persistent ids are not allowed here');
        try {
          stack.push(opts.persistentLoad(pid));
        } catch (e) {
          if (e instanceof UnpicklingError) throw e;
          fail(`persistent id: ${(e as Error).message}`);
        }
        break;
      }
      default:
        fail(
          `unsupported or disallowed opcode 0x${op.toString(16).padStart(2, '0')} (${OPCODE_NAMES[op] ?? 'unknown'})`,
        );
    }
  }
}

const OPCODE_NAMES: Record<number, string> = {
  0x50: 'PERSID',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x53: 'STRING',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyTuple) return `tuple(${v.items.length})`;
  if (v instanceof PyDict) return v.className;
  if (v instanceof PyGlobal) return v.qualname;
  if (Array.isArray(v)) return `list(${v.length})`;
  if (v instanceof Uint8Array) return `bytes(${v.byteLength})`;
  if (v instanceof Set) return 'set';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
