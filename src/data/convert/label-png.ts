// Label maps stored as PNG: VOC's palette PNGs (SegmentationClass / SegmentationObject) and the
// grayscale index PNGs some SBD conversions ship. sharp expands a palette to RGB, so colours are
// mapped back to indices through the VOC palette; a grayscale PNG holds the indices directly.
import sharp, { type OutputInfo } from 'sharp';
import { vocColorIndex } from './voc-palette.ts';

export interface LabelMap {
  width: number;
  height: number;
  /** Row-major label index per pixel. Shape [height * width]. */
  data: Uint8Array;
}

let colorIndex: Map<number, number> | null = null;

export async function readLabelPng(file: string): Promise<LabelMap> {
  let raw: { data: Buffer; info: OutputInfo };
  let gray: boolean;
  try {
    const meta = await sharp(file).metadata();
    // sharp may hand back a grayscale PNG as RGB; its header says whether the values are indices.
    gray = !meta.isPalette && (meta.channels ?? 3) <= 2;
    raw = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`${file}: cannot decode label image: ${(err as Error).message}`);
  }
  const { width, height, channels } = raw.info;
  const src = raw.data;
  const data = new Uint8Array(width * height);
  if (gray || channels <= 2) {
    for (let i = 0; i < data.length; i++) data[i] = src[i * channels];
    return { width, height, data };
  }
  colorIndex ??= vocColorIndex();
  for (let i = 0; i < data.length; i++) {
    const o = i * channels;
    const idx = colorIndex.get((src[o] << 16) | (src[o + 1] << 8) | src[o + 2]);
    if (idx === undefined) {
      const x = i % width;
      throw new Error(
        `${file}: pixel (x ${x}, y ${(i - x) / width}) has colour (${src[o]}, ${src[o + 1]}, ${src[o + 2]}), ` +
          'which is not in the VOC label palette',
      );
    }
    data[i] = idx;
  }
  return { width, height, data };
}
