// Core run-length operations on in-memory RLEs (pycocotools maskApi semantics, rewritten).
// Everything except decode works on the runs directly, without expanding the mask.
import { countsFromString, countsToString } from './codec.ts';
import type { BinaryMask, Box, CocoRle, Rle, UncompressedRle } from './types.ts';

/** Checks that [height, width] is a pair of non-negative integers; returns it. */
export function checkSize(size: unknown, where: string): [number, number] {
  if (!Array.isArray(size) || size.length !== 2) {
    throw new Error(`${where}: size must be [height, width], got ${describe(size)}`);
  }
  const [h, w] = size as unknown[];
  for (const [name, v] of [
    ['height', h],
    ['width', w],
  ] as const) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new Error(`${where}: size ${name} must be a non-negative integer, got ${describe(v)}`);
    }
  }
  return [h as number, w as number];
}

/** Short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return v === null ? 'null' : 'an object';
  return String(v);
}

function checkTotal(counts: Uint32Array, h: number, w: number, where: string): void {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i];
  if (sum !== h * w) {
    throw new Error(`${where}: run lengths sum to ${sum} but size ${h}x${w} has ${h * w} pixels`);
  }
}

/** Builds an RLE from run lengths, checking they cover exactly height*width pixels. */
export function rleFromCounts(counts: Uint32Array, h: number, w: number, where = 'rle'): Rle {
  checkTotal(counts, h, w, where);
  return { height: h, width: w, counts };
}

/** Parses COCO's compressed RLE ({size, counts: string}); throws naming `where` on any defect. */
export function rleFromCoco(obj: unknown, where = 'rle'): Rle {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new Error(`${where}: expected an RLE object {size, counts}, got ${describe(obj)}`);
  }
  const o = obj as { size?: unknown; counts?: unknown };
  const [h, w] = checkSize(o.size, where);
  if (typeof o.counts !== 'string') {
    throw new Error(`${where}: counts must be a compressed RLE string, got ${describe(o.counts)}`);
  }
  return rleFromCounts(countsFromString(o.counts, `${where}.counts`), h, w, where);
}

/** Parses COCO's uncompressed RLE ({size, counts: number[]}). */
export function rleFromUncompressed(obj: unknown, where = 'rle'): Rle {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new Error(`${where}: expected an RLE object {size, counts}, got ${describe(obj)}`);
  }
  const o = obj as { size?: unknown; counts?: unknown };
  const [h, w] = checkSize(o.size, where);
  if (!Array.isArray(o.counts)) {
    throw new Error(`${where}: counts must be a list of run lengths, got ${describe(o.counts)}`);
  }
  const counts = new Uint32Array(o.counts.length);
  for (let i = 0; i < o.counts.length; i++) {
    const c = o.counts[i];
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0xffffffff) {
      throw new Error(`${where}.counts[${i}]: run length must be a non-negative integer, got ${describe(c)}`);
    }
    counts[i] = c;
  }
  return rleFromCounts(counts, h, w, where);
}

export function rleToCoco(r: Rle): CocoRle {
  return { size: [r.height, r.width], counts: countsToString(r.counts) };
}

export function rleToUncompressed(r: Rle): UncompressedRle {
  return { size: [r.height, r.width], counts: Array.from(r.counts) };
}

/** Encodes a row-major binary mask into column-major runs (pycocotools rleEncode). */
export function rleEncode(mask: BinaryMask): Rle {
  const { height: h, width: w, data } = mask;
  if (data.length !== h * w) {
    throw new Error(`mask: data has ${data.length} values but ${h}x${w} needs ${h * w}`);
  }
  const runs: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let i = x, y = 0; y < h; y++, i += w) {
      const v = data[i] !== 0 ? 1 : 0;
      if (v !== prev) {
        runs.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  runs.push(run);
  return { height: h, width: w, counts: Uint32Array.from(runs) };
}

/** Expands runs into a row-major binary mask (values 0/1). */
export function rleDecode(r: Rle): BinaryMask {
  const { height: h, width: w, counts } = r;
  const data = new Uint8Array(h * w);
  let pos = 0; // column-major pixel index
  for (let j = 0; j < counts.length; j++) {
    const end = pos + counts[j];
    if (j % 2 === 1) {
      for (let p = pos; p < end; p++) {
        const x = Math.floor(p / h);
        data[(p - x * h) * w + x] = 1;
      }
    }
    pos = end;
  }
  return { height: h, width: w, data };
}

/** Foreground pixel count: the sum of the odd runs. */
export function rleArea(r: Rle): number {
  let a = 0;
  const c = r.counts;
  for (let j = 1; j < c.length; j += 2) a += c[j];
  return a;
}

/**
 * Tight box [x, y, w, h] of the foreground (pycocotools rleToBbox): [0, 0, 0, 0] when empty. A
 * foreground run that wraps past the bottom of a column spans the full height. Empty foreground
 * runs are skipped (pycocotools would count one pixel for them, a quirk only malformed input hits).
 */
export function rleToBbox(r: Rle): Box {
  const { height: h, width: w, counts } = r;
  const m = counts.length - (counts.length % 2);
  let xs = w;
  let ys = h;
  let xe = 0;
  let ye = 0;
  let any = false;
  let cc = 0;
  for (let j = 0; j < m; j += 2) {
    cc += counts[j];
    const len = counts[j + 1];
    const start = cc;
    cc += len;
    if (len === 0) continue;
    any = true;
    const x0 = Math.floor(start / h);
    const y0 = start - x0 * h;
    const t = cc - 1;
    const x1 = Math.floor(t / h);
    const y1 = t - x1 * h;
    if (x0 < x1) {
      ys = 0;
      ye = h - 1;
    }
    if (x0 < xs) xs = x0;
    if (x1 > xe) xe = x1;
    if (y0 < ys) ys = y0;
    if (y1 < ys) ys = y1;
    if (y0 > ye) ye = y0;
    if (y1 > ye) ye = y1;
  }
  if (!any) return [0, 0, 0, 0];
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/**
 * Union (or intersection) of RLEs of one size (pycocotools rleMerge). One input is returned as is;
 * otherwise the result is rebuilt run by run. Inputs of different sizes give an empty 0x0 RLE.
 */
export function rleMerge(rles: Rle[], intersect: boolean, where = 'merge'): Rle {
  if (rles.length === 0) throw new Error(`${where}: needs at least one RLE`);
  const h = rles[0].height;
  const w = rles[0].width;
  if (rles.length === 1) return rles[0];
  let acc = rles[0].counts;
  for (let i = 1; i < rles.length; i++) {
    const B = rles[i];
    // pycocotools answers a size mismatch with an empty 0x0 RLE rather than an error.
    if (B.height !== h || B.width !== w) return { height: 0, width: 0, counts: new Uint32Array(0) };
    acc = mergeTwo(acc, B.counts, intersect);
  }
  return { height: h, width: w, counts: acc };
}

function mergeTwo(A: Uint32Array, B: Uint32Array, intersect: boolean): Uint32Array {
  const out: number[] = [];
  let ca = A.length > 0 ? A[0] : 0;
  let cb = B.length > 0 ? B[0] : 0;
  let va = false;
  let vb = false;
  let v = false;
  let a = 1;
  let b = 1;
  let cc = 0;
  let ct = 1;
  while (ct > 0) {
    const c = ca < cb ? ca : cb;
    cc += c;
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++];
      vb = !vb;
    }
    ct += cb;
    const vp: boolean = v;
    v = intersect ? va && vb : va || vb;
    if (v !== vp || ct === 0) {
      out.push(cc);
      cc = 0;
    }
  }
  return Uint32Array.from(out);
}

/**
 * Intersection and union pixel counts of two same-size RLEs in one pass over both run lists.
 * Returns [intersection, union].
 */
export function rleIntersectUnion(A: Uint32Array, B: Uint32Array): [number, number] {
  let ca = A.length > 0 ? A[0] : 0;
  let cb = B.length > 0 ? B[0] : 0;
  let va = false;
  let vb = false;
  let a = 1;
  let b = 1;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = ca < cb ? ca : cb;
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++];
      vb = !vb;
    }
    ct += cb;
  }
  return [inter, union];
}
