// Plain image and mask containers shared by the data pipeline.
//
// Layout convention (used everywhere in src/data): row-major, y outer, x inner.
//   RgbImage.data:  Uint8Array, length height*width*3, index (y*width + x)*3 + c, c = R,G,B
//   Bitmap masks:   Uint8Array, length height*width,   index  y*width + x, values 0 or 1
// Note: pycocotools' RLE works on column-major (Fortran) masks; the mask API converts.

export interface RgbImage {
  data: Uint8Array; // H x W x 3
  width: number;
  height: number;
}

export function makeImage(width: number, height: number, fill = 0): RgbImage {
  checkSize(width, height);
  const data = new Uint8Array(width * height * 3);
  if (fill !== 0) data.fill(fill);
  return { data, width, height };
}

export function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`image size must be positive integers, got ${width}x${height}`);
  }
}

/** Throws unless `data` has the length an H x W x channels buffer needs. */
export function checkBuffer(
  what: string,
  data: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
): void {
  const want = width * height * channels;
  if (data.length !== want) {
    throw new Error(
      `${what}: buffer has ${data.length} values, expected ${height}x${width}x${channels} = ${want}`,
    );
  }
}
