// A minimal reader for MATLAB Level 5 MAT-files (what SBD's inst/ and cls/ .mat files are), for the
// types they hold: numeric and logical arrays, char, struct, cell and sparse, optionally zlib-
// compressed. Written here because the one npm reader (mat-for-js) is GPL-3.0 and single-release.
// Layout: MATLAB's "MAT-File Format" document (128-byte header, tagged data elements).
import { inflateSync } from 'node:zlib';

export type MatValue = MatNumeric | MatChar | MatStruct | MatCell | MatSparse;

interface MatBase {
  name: string;
  /** MATLAB dimensions; data is column-major (first index fastest). */
  dims: number[];
}
export interface MatNumeric extends MatBase {
  kind: 'numeric';
  /** MATLAB class: double, single, int8, uint8, ... */
  class: string;
  logical: boolean;
  data: Float64Array;
  imag?: Float64Array;
}
export interface MatChar extends MatBase {
  kind: 'char';
  text: string;
}
export interface MatStruct extends MatBase {
  kind: 'struct';
  fieldNames: string[];
  /** One record per struct element, column-major. */
  elements: Record<string, MatValue>[];
}
export interface MatCell extends MatBase {
  kind: 'cell';
  cells: MatValue[];
}
export interface MatSparse extends MatBase {
  kind: 'sparse';
  logical: boolean;
  /** Compressed sparse column: row indices, column starts (length cols+1), values. */
  ir: Int32Array;
  jc: Int32Array;
  data: Float64Array;
}

// Data element types (miXXX) and array classes (mxXXX_CLASS) from the format document.
const MI = {
  INT8: 1,
  UINT8: 2,
  INT16: 3,
  UINT16: 4,
  INT32: 5,
  UINT32: 6,
  SINGLE: 7,
  DOUBLE: 9,
  INT64: 12,
  UINT64: 13,
  MATRIX: 14,
  COMPRESSED: 15,
  UTF8: 16,
  UTF16: 17,
  UTF32: 18,
};
const CLASS_NAMES: Record<number, string> = {
  1: 'cell',
  2: 'struct',
  3: 'object',
  4: 'char',
  5: 'sparse',
  6: 'double',
  7: 'single',
  8: 'int8',
  9: 'uint8',
  10: 'int16',
  11: 'uint16',
  12: 'int32',
  13: 'uint32',
  14: 'int64',
  15: 'uint64',
};

class Reader {
  constructor(
    readonly buf: Buffer,
    readonly le: boolean,
    readonly file: string,
  ) {}
  u32(o: number): number {
    this.need(o, 4);
    return this.le ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o);
  }
  need(o: number, n: number): void {
    if (o + n > this.buf.length)
      throw this.err(`truncated: needs bytes ${o}..${o + n} of ${this.buf.length}`);
  }
  err(msg: string): Error {
    return new Error(`${this.file}: MAT-file: ${msg}`);
  }
}

interface Element {
  type: number;
  start: number; // first data byte
  size: number;
  next: number; // offset of the following element
}

function readTag(r: Reader, o: number): Element {
  const first = r.u32(o);
  if (first >>> 16 !== 0) {
    // Small data element: type and size share the first word, data in the next 4 bytes.
    const size = first >>> 16;
    if (size > 4) throw r.err(`small data element at byte ${o} claims ${size} bytes`);
    return { type: first & 0xffff, start: o + 4, size, next: o + 8 };
  }
  const size = r.u32(o + 4);
  r.need(o + 8, size);
  const padded = first === MI.COMPRESSED ? size : Math.ceil(size / 8) * 8;
  return { type: first, start: o + 8, size, next: o + 8 + padded };
}

function numbers(r: Reader, el: Element): Float64Array {
  const { buf, le } = r;
  const spec: Record<number, [number, (o: number) => number]> = {
    [MI.INT8]: [1, (o) => buf.readInt8(o)],
    [MI.UINT8]: [1, (o) => buf[o]],
    [MI.INT16]: [2, (o) => (le ? buf.readInt16LE(o) : buf.readInt16BE(o))],
    [MI.UINT16]: [2, (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o))],
    [MI.INT32]: [4, (o) => (le ? buf.readInt32LE(o) : buf.readInt32BE(o))],
    [MI.UINT32]: [4, (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))],
    [MI.SINGLE]: [4, (o) => (le ? buf.readFloatLE(o) : buf.readFloatBE(o))],
    [MI.DOUBLE]: [8, (o) => (le ? buf.readDoubleLE(o) : buf.readDoubleBE(o))],
    [MI.INT64]: [8, (o) => Number(le ? buf.readBigInt64LE(o) : buf.readBigInt64BE(o))],
    [MI.UINT64]: [8, (o) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o))],
  };
  const s = spec[el.type];
  if (!s) throw r.err(`numeric data of unsupported element type ${el.type} at byte ${el.start}`);
  const [w, get] = s;
  if (el.size % w !== 0)
    throw r.err(`element at byte ${el.start} has ${el.size} bytes, not a multiple of ${w}`);
  const out = new Float64Array(el.size / w);
  for (let i = 0; i < out.length; i++) out[i] = get(el.start + i * w);
  return out;
}

function chars(r: Reader, el: Element): string {
  const bytes = r.buf.subarray(el.start, el.start + el.size);
  if (el.type === MI.UTF8 || el.type === MI.INT8 || el.type === MI.UINT8) return bytes.toString('utf8');
  if (el.type === MI.UTF16 || el.type === MI.UINT16)
    return String.fromCharCode(...numbers(r, { ...el, type: MI.UINT16 }));
  return String.fromCodePoint(...numbers(r, { ...el, type: MI.UINT32 }));
}

/** Parses one miMATRIX element's contents (bytes start..start+size). */
function matrix(r: Reader, el: Element, depth: number): MatValue {
  if (depth > 64) throw r.err('arrays nested more than 64 deep');
  const end = el.start + el.size;
  const sub = (o: number): Element => {
    if (o >= end) throw r.err(`array at byte ${el.start} ends before all its parts`);
    const s = readTag(r, o);
    if (s.start + s.size > end) throw r.err(`part at byte ${o} overruns its array`);
    return s;
  };
  if (el.size === 0)
    return {
      kind: 'numeric',
      name: '',
      dims: [0, 0],
      class: 'double',
      logical: false,
      data: new Float64Array(0),
    };
  const flagsEl = sub(el.start);
  const flags = r.u32(flagsEl.start);
  const cls = flags & 0xff;
  const complex = (flags & 0x800) !== 0;
  const logical = (flags & 0x200) !== 0;
  const dimsEl = sub(flagsEl.next);
  const dims = Array.from(numbers(r, dimsEl));
  const nameEl = sub(dimsEl.next);
  const name = chars(r, nameEl);
  const count = dims.reduce((a, b) => a * b, 1);
  let o = nameEl.next;
  const className = CLASS_NAMES[cls];
  if (!className || className === 'object')
    throw r.err(`array "${name}": unsupported class ${className ?? cls}`);

  if (className === 'char') return { kind: 'char', name, dims, text: chars(r, sub(o)) };
  if (className === 'cell') {
    const cells: MatValue[] = [];
    for (let i = 0; i < count; i++) {
      const c = sub(o);
      if (c.type !== MI.MATRIX) throw r.err(`cell "${name}" element ${i} is not an array`);
      cells.push(matrix(r, c, depth + 1));
      o = c.next;
    }
    return { kind: 'cell', name, dims, cells };
  }
  if (className === 'struct') {
    const lenEl = sub(o);
    const fieldLen = numbers(r, lenEl)[0];
    const namesEl = sub(lenEl.next);
    const nFields = fieldLen > 0 ? namesEl.size / fieldLen : 0;
    const fieldNames: string[] = [];
    for (let f = 0; f < nFields; f++) {
      const raw = r.buf.subarray(namesEl.start + f * fieldLen, namesEl.start + (f + 1) * fieldLen);
      fieldNames.push(raw.toString('latin1').replace(/\0.*$/s, ''));
    }
    o = namesEl.next;
    const elements: Record<string, MatValue>[] = [];
    for (let i = 0; i < count; i++) {
      const rec: Record<string, MatValue> = {};
      for (const f of fieldNames) {
        const c = sub(o);
        if (c.type !== MI.MATRIX) throw r.err(`struct "${name}" field "${f}" is not an array`);
        rec[f] = { ...matrix(r, c, depth + 1), name: f };
        o = c.next;
      }
      elements.push(rec);
    }
    return { kind: 'struct', name, dims, fieldNames, elements };
  }
  if (className === 'sparse') {
    const irEl = sub(o);
    const jcEl = sub(irEl.next);
    const prEl = sub(jcEl.next);
    return {
      kind: 'sparse',
      name,
      dims,
      logical,
      ir: Int32Array.from(numbers(r, irEl)),
      jc: Int32Array.from(numbers(r, jcEl)),
      data: numbers(r, prEl),
    };
  }
  const realEl = sub(o);
  const data = numbers(r, realEl);
  if (data.length !== count)
    throw r.err(`array "${name}" has ${data.length} values for dimensions ${dims.join('x')}`);
  const out: MatNumeric = { kind: 'numeric', name, dims, class: className, logical, data };
  if (complex) out.imag = numbers(r, sub(realEl.next));
  return out;
}

/** Reads every top-level variable of a Level 5 MAT-file, by name. */
export function readMat5(buf: Buffer, file = 'MAT-file'): Record<string, MatValue> {
  if (buf.length < 128) throw new Error(`${file}: MAT-file: shorter than the 128-byte header`);
  const mark = buf.toString('latin1', 126, 128);
  if (mark !== 'IM' && mark !== 'MI')
    throw new Error(
      `${file}: MAT-file: not a Level 5 MAT-file (no endian mark; v7.3 files are HDF5 and not supported)`,
    );
  const r = new Reader(buf, mark === 'IM', file);
  const vars: Record<string, MatValue> = {};
  let o = 128;
  while (o + 8 <= buf.length) {
    const el = readTag(r, o);
    if (el.type === MI.COMPRESSED) {
      let inner: Buffer;
      try {
        inner = inflateSync(buf.subarray(el.start, el.start + el.size));
      } catch (err) {
        throw r.err(`compressed element at byte ${o}: ${(err as Error).message}`);
      }
      const ir = new Reader(inner, r.le, file);
      const iel = readTag(ir, 0);
      if (iel.type !== MI.MATRIX) throw r.err(`compressed element at byte ${o} does not hold an array`);
      const v = matrix(ir, iel, 0);
      vars[v.name] = v;
    } else if (el.type === MI.MATRIX) {
      const v = matrix(r, el, 0);
      vars[v.name] = v;
    } else {
      throw r.err(`unexpected top-level element type ${el.type} at byte ${o}`);
    }
    o = el.next;
  }
  return vars;
}
