// One cached image embedding per file:
//   bytes 0-7   magic "WISHSEMB"
//   bytes 8-11  format version (u32 LE)
//   bytes 12-15 header length H (u32 LE)
//   16..16+H    header JSON (EntryHeader, UTF-8)
//   then        the embedding, float16 little-endian, C order, prod(shape) * 2 bytes
// The header carries what decides whether an entry is still valid (model id, source image checksum) and a
// checksum of the payload, so a truncated or bit-flipped file is detected rather than silently used.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const ENTRY_MAGIC = 'WISHSEMB';
export const ENTRY_VERSION = 1;
const PREFIX = 16;

const headerSchema = z.object({
  dtype: z.literal('float16'),
  shape: z.array(z.number().int().positive()).min(1),
  /** samModelId(checkpoint, config) of the model that computed it. */
  modelId: z.string().min(1),
  /** sha256 (hex) of the source image file's bytes. */
  imageSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** [H, W] of the decoded image and [newH, newW] after ResizeLongestSide. */
  originalSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  inputSize: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  /** sha256 (hex) of the float16 payload. */
  payloadSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type EntryHeader = z.infer<typeof headerSchema>;

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Serialises an entry (header fields + float16 payload bytes). */
export function encodeEntry(
  header: Omit<EntryHeader, 'payloadSha256' | 'dtype'>,
  payload: Uint8Array,
): Buffer {
  const numel = header.shape.reduce((a, b) => a * b, 1);
  if (payload.byteLength !== numel * 2)
    throw new Error(
      `encodeEntry: payload has ${payload.byteLength} bytes, float16 [${header.shape}] needs ${numel * 2}`,
    );
  const full: EntryHeader = { dtype: 'float16', ...header, payloadSha256: sha256(payload) };
  const json = Buffer.from(JSON.stringify(full), 'utf8');
  const prefix = Buffer.alloc(PREFIX);
  prefix.write(ENTRY_MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(ENTRY_VERSION, 8);
  prefix.writeUInt32LE(json.length, 12);
  return Buffer.concat([prefix, json, payload]);
}

export type DecodedEntry =
  { ok: true; header: EntryHeader; payload: Uint8Array } | { ok: false; reason: string };

/** Parses and verifies an entry file's bytes; never throws (problems come back as a reason). */
export function decodeEntry(bytes: Uint8Array): DecodedEntry {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < PREFIX) return { ok: false, reason: `file too short (${buf.length} bytes)` };
  if (buf.toString('latin1', 0, 8) !== ENTRY_MAGIC)
    return { ok: false, reason: 'bad magic (not an embedding entry)' };
  const version = buf.readUInt32LE(8);
  if (version !== ENTRY_VERSION)
    return { ok: false, reason: `format version ${version}, expected ${ENTRY_VERSION}` };
  const hlen = buf.readUInt32LE(12);
  if (PREFIX + hlen > buf.length)
    return { ok: false, reason: `header length ${hlen} runs past the end of the file` };
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', PREFIX, PREFIX + hlen));
  } catch {
    return { ok: false, reason: 'header is not valid JSON' };
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { ok: false, reason: `bad header field '${i.path.join('.')}': ${i.message}` };
  }
  const header = parsed.data;
  const need = header.shape.reduce((a, b) => a * b, 1) * 2;
  const payload = buf.subarray(PREFIX + hlen);
  if (payload.length !== need)
    return {
      ok: false,
      reason: `payload has ${payload.length} bytes, shape [${header.shape}] needs ${need}`,
    };
  if (sha256(payload) !== header.payloadSha256) return { ok: false, reason: 'payload checksum mismatch' };
  return { ok: true, header, payload };
}
