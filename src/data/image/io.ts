// Image decoding and encoding through sharp. Everything becomes 8-bit sRGB, 3 channels.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { checkBuffer, type RgbImage } from './types.ts';

export interface DecodeOptions {
  /**
   * Apply the EXIF orientation tag (default true), as detectron2's `read_image` does, so that
   * pixels are in the orientation annotation tools displayed.
   */
  autoOrient?: boolean;
}

/** Decodes an encoded image (PNG, JPEG, WebP, TIFF, ...) to RGB; `name` appears in errors. */
export async function decodeImage(
  input: Buffer | Uint8Array,
  name: string,
  opts: DecodeOptions = {},
): Promise<RgbImage> {
  try {
    let pipeline = sharp(input, { failOn: 'error' });
    if (opts.autoOrient ?? true) pipeline = pipeline.autoOrient();
    // Alpha is dropped (not composited): datasets store RGB content, alpha is rare and meaningless here.
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
    };
  } catch (err) {
    throw new Error(`cannot decode image ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Loads any image file sharp can read as RGB uint8 H x W x 3. */
export async function loadImage(path: string, opts: DecodeOptions = {}): Promise<RgbImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot read image ${path}: ${code === 'ENOENT' ? 'no such file' : String(err)}`);
  }
  return decodeImage(bytes, path, opts);
}

export interface PngOptions {
  /** zlib level 0-9; 6 balances size and speed for small synthetic images. */
  compressionLevel?: number;
}

/** Encodes RGB to PNG bytes. Output carries no metadata, so equal pixels give equal bytes. */
export async function encodePng(img: RgbImage, opts: PngOptions = {}): Promise<Buffer> {
  checkBuffer('encodePng', img.data, img.width, img.height, 3);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: opts.compressionLevel ?? 6, adaptiveFiltering: false })
    .toBuffer();
}

/** Writes `bytes` to `path` through a temporary file in the same folder, then renames. */
export async function writeFileAtomic(path: string, bytes: Buffer | Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Saves an RGB image as PNG (atomically). */
export async function savePng(path: string, img: RgbImage, opts: PngOptions = {}): Promise<void> {
  await writeFileAtomic(path, await encodePng(img, opts));
}
