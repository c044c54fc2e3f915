// COCO's compressed RLE string codec (pycocotools maskApi rleToString / rleFrString), rewritten.
// Each count is written as 5-bit groups, least significant first, one character (value + 48) per
// group; bit 0x20 marks "more groups follow" and bit 0x10 of the last group is the sign. From the
// fourth count on (index > 2) the difference to the count two places back is written instead,
// which keeps strings short for smooth shapes.

const MAX_COUNT = 0xffffffff; // counts are uint32 in pycocotools
const MAX_GROUPS = 7; // 7 groups of 5 bits hold any signed 34-bit delta of two uint32 counts

// Reused decode buffer (one slot per character is enough): parsing many RLEs allocates only results.
let scratch = new Uint32Array(1024);

/** Encodes run lengths into COCO's compressed string. */
export function countsToString(counts: ArrayLike<number>): string {
  const chars: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i];
    if (i > 2) x -= counts[i - 2];
    let more = true;
    while (more) {
      // Arithmetic on doubles rather than 32-bit bit ops: deltas can exceed the int32 range.
      const q = Math.floor(x / 32);
      let c = x - q * 32;
      x = q;
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      chars.push(c + 48);
    }
  }
  // String.fromCharCode with many arguments overflows the stack; build in slices.
  let out = '';
  for (let i = 0; i < chars.length; i += 8192) out += String.fromCharCode(...chars.slice(i, i + 8192));
  return out;
}

/**
 * Decodes COCO's compressed string into run lengths. Throws on characters outside '0'..'o', a string
 * that ends inside a count, a count longer than 7 characters, or a count that decodes outside uint32.
 * `where` prefixes error messages (e.g. "res.json[3].segmentation.counts").
 */
export function countsFromString(s: string, where = 'counts'): Uint32Array {
  if (scratch.length < s.length) scratch = new Uint32Array(Math.max(s.length, 2 * scratch.length));
  const out = scratch;
  let m = 0;
  let p = 0;
  while (p < s.length) {
    const start = p;
    let x = 0;
    let k = 0;
    let mult = 1; // 32 ** k, kept as a product rather than a power for speed
    let more = true;
    while (more) {
      if (p >= s.length) {
        throw new Error(`${where}: string ends inside run ${m} (started at character ${start})`);
      }
      if (k === MAX_GROUPS) {
        throw new Error(`${where}: run ${m} at character ${start} is longer than ${MAX_GROUPS} characters`);
      }
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) {
        throw new Error(
          `${where}: invalid character ${JSON.stringify(s[p])} at position ${p} (allowed '0'..'o')`,
        );
      }
      x += (c & 0x1f) * mult;
      mult *= 32;
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= mult; // sign-extend the last group
    }
    if (m > 2) x += out[m - 2];
    if (x < 0 || x > MAX_COUNT) {
      throw new Error(`${where}: run ${m} decodes to ${x}, outside 0..${MAX_COUNT}`);
    }
    out[m++] = x;
  }
  return out.slice(0, m);
}
