// Shapes shared by the mask API. Conventions follow pycocotools.mask exactly:
// run lengths are column-major (x outer, y inner) and always start with a run of zeros (maybe empty).

/** A binary mask, row-major like image data: data[y * width + x] != 0 means foreground. */
export interface BinaryMask {
  height: number;
  width: number;
  data: Uint8Array; // [height * width]
}

/** Run-length encoding in memory: counts alternate background/foreground, column-major. */
export interface Rle {
  height: number;
  width: number;
  counts: Uint32Array;
}

/** COCO's compressed RLE as stored in JSON: size is [height, width]. */
export interface CocoRle {
  size: [number, number];
  counts: string;
}

/** COCO's uncompressed RLE (used for crowd regions in COCO JSON). */
export interface UncompressedRle {
  size: [number, number];
  counts: number[];
}

/** A box in COCO's convention: [x, y, width, height]. */
export type Box = [number, number, number, number];

/** A polygon as a flat list [x0, y0, x1, y1, ...]. */
export type Polygon = number[];
