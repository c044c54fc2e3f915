// Random access into a zip archive, for torch.save checkpoints. yauzl parses the central directory
// (ZIP64 included) and the local headers; entries torch writes are STORED (uncompressed), so their
// bytes are read straight from the file at their data offset, a range at a time, without streaming
// or loading anything else. Compressed entries (not written by torch, but legal) are inflated whole.

import { close, fstat, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { allocForRead } from './raw.ts';

export interface ZipEntry {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  compressionMethod: number;
  raw: yauzl.Entry;
}

const MAX_IO_CHUNK = 1 << 30;
const openP = promisify(open);
const closeP = promisify(close);
const fstatP = promisify(fstat);
const readP = (fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> =>
  new Promise((resolve, reject) =>
    read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))),
  );

/**
 * yauzl's file access, bounds-checked: a corrupt ZIP64 record can make yauzl ask for a position past
 * 2^53, which node's fs.read throws on synchronously inside a callback (an uncaught exception, found
 * by the fuzz test). Out-of-file reads become ordinary errors here instead.
 */
class CheckedFdReader extends yauzl.RandomAccessReader {
  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {
    super();
  }
  private closed = false;
  private check(start: number, length: number): Error | undefined {
    if (this.closed) return new Error('archive is closed');
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || start < 0 || length < 0) {
      return new Error(`invalid read of ${length} bytes at ${start}`);
    }
    if (start + length > this.size)
      return new Error(`read of ${length} bytes at ${start} is past the end of the ${this.size}-byte file`);
    return undefined;
  }
  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    const cb = callback as (err: Error | null, bytesRead?: number) => void;
    const bad = this.check(position, length);
    if (bad) {
      setImmediate(() => cb(bad));
      return;
    }
    read(this.fd, buffer, offset, length, position, (err, n) => cb(err, n));
  }
  override _readStreamForRange(start: number, end: number): Readable {
    const bad = this.check(start, end - start);
    if (bad)
      return new Readable({
        read() {
          this.destroy(bad);
        },
      });
    // Our own chunked reader: fs.createReadStream on a shared fd closes it on destroy.
    const fd = this.fd;
    let pos = start;
    return new Readable({
      read() {
        const len = Math.min(1 << 16, end - pos);
        if (len <= 0) {
          this.push(null);
          return;
        }
        const buf = Buffer.allocUnsafe(len);
        read(fd, buf, 0, len, pos, (err, got) => {
          if (err) return this.destroy(err);
          if (got === 0) return this.destroy(new Error('unexpected end of file'));
          pos += got;
          this.push(buf.subarray(0, got));
        });
      },
    });
  }
  /** Closes the fd once; yauzl may drop its last reference more than once across open/close. */
  override close(callback: (err: Error | null) => void): void {
    if (this.closed) {
      setImmediate(() => callback(null));
      return;
    }
    this.closed = true;
    close(this.fd, callback);
  }
}

export class ZipReader {
  private readonly dataStarts = new Map<string, number>();
  private closed = false;

  private constructor(
    readonly path: string,
    // A plain fd, not a FileHandle: the zip's close() closes it (CheckedFdReader.close).
    private readonly fd: number,
    private readonly zip: yauzl.ZipFile,
    readonly entries: Map<string, ZipEntry>,
    readonly size: number,
  ) {}

  /** Opens an archive and reads its central directory. Errors name the file. */
  static async open(path: string): Promise<ZipReader> {
    const fd = await openP(path, 'r');
    let zip: yauzl.ZipFile | undefined;
    try {
      const size = (await fstatP(fd)).size;
      const reader = new CheckedFdReader(fd, size);
      zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
        yauzl.fromRandomAccessReader(reader, size, { lazyEntries: true, autoClose: false }, (err, z) =>
          err ? reject(err) : resolve(z),
        ),
      ).catch((e: Error) => {
        throw new Error(`${path}: file is truncated or not a zip archive (${e.message})`);
      });
      const z = zip;
      const entries = new Map<string, ZipEntry>();
      await new Promise<void>((resolve, reject) => {
        z.on('entry', (e: yauzl.Entry) => {
          entries.set(e.fileName, {
            name: e.fileName,
            compressedSize: e.compressedSize,
            uncompressedSize: e.uncompressedSize,
            compressionMethod: e.compressionMethod,
            raw: e,
          });
          z.readEntry();
        });
        z.on('end', () => resolve());
        z.on('error', (err: Error) =>
          reject(new Error(`${path}: corrupt zip central directory (${err.message})`)),
        );
        z.readEntry();
      });
      return new ZipReader(path, fd, z, entries, size);
    } catch (e) {
      if (zip) zip.close();
      else await closeP(fd);
      throw e;
    }
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.path}: archive has no entry "${name}"`);
    return e;
  }

  private async dataStart(e: ZipEntry): Promise<number> {
    const cached = this.dataStarts.get(e.name);
    if (cached !== undefined) return cached;
    const start = await new Promise<number>((resolve, reject) =>
      this.zip.readLocalFileHeader(e.raw, { minimal: true }, (err, h) =>
        err ? reject(err) : resolve(h.fileDataStart),
      ),
    ).catch((err: Error) => {
      throw new Error(`${this.path}: entry "${e.name}": bad local header (${err.message}): file truncated?`);
    });
    if (start + e.compressedSize > this.size) {
      throw new Error(`${this.path}: entry "${e.name}" runs past the end of the file: file truncated?`);
    }
    this.dataStarts.set(e.name, start);
    return start;
  }

  /** Reads `length` bytes at `offset` inside an entry's uncompressed content into a new buffer. */
  async readRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) throw new Error(`${this.path}: archive is closed`);
    const e = this.entry(name);
    if (offset < 0 || length < 0 || offset + length > e.uncompressedSize) {
      throw new Error(
        `${this.path}: entry "${name}": bytes [${offset}, ${offset + length}) out of its ${e.uncompressedSize} bytes`,
      );
    }
    if (e.compressionMethod !== 0) return (await this.readAll(name)).subarray(offset, offset + length);
    const start = await this.dataStart(e);
    const out = allocForRead(length);
    let done = 0;
    while (done < length) {
      const n = Math.min(length - done, MAX_IO_CHUNK);
      const bytesRead = await readP(this.fd, out, done, n, start + offset + done);
      if (bytesRead === 0)
        throw new Error(`${this.path}: entry "${name}": unexpected end of file: file truncated?`);
      done += bytesRead;
    }
    return out;
  }

  /** The whole uncompressed content of an entry. */
  async readAll(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    if (e.compressionMethod === 0) return this.readRange(name, 0, e.uncompressedSize);
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      this.zip.openReadStream(e.raw, (err, s) => (err ? reject(err) : resolve(s))),
    ).catch((err: Error) => {
      throw new Error(`${this.path}: entry "${name}": ${err.message}`);
    });
    const parts: Buffer[] = [];
    try {
      for await (const chunk of stream) parts.push(chunk as Buffer);
    } catch (err) {
      throw new Error(`${this.path}: entry "${name}": ${(err as Error).message}`);
    }
    return new Uint8Array(Buffer.concat(parts));
  }

  /** Closes the archive and its file descriptor; reads after this fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.zip.close();
  }
}
