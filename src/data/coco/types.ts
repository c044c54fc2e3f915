// COCO instance-annotation JSON, as zod schemas checked one record at a time (so a 450 MB file can
// be validated while it streams). Objects are loose: unknown fields (coco_url, license, the weak
// fields of src/data/weak) are kept and written back unchanged.
import { z } from 'zod';

const id = z.int().nonnegative();
const nonNegative = z.number().nonnegative();

/** One polygon: x0,y0,x1,y1,... in pixel coordinates (COCO keeps a few 2-point polygons; the mask API rasterises them). */
export const polygonSchema = z
  .array(z.number())
  .min(2, 'a polygon needs at least one x,y pair')
  .refine((p) => p.length % 2 === 0, 'a polygon needs an even number of coordinates (x,y pairs)');

/** [height, width], as pycocotools writes it. */
const rleSize = z.tuple([z.int().nonnegative(), z.int().nonnegative()]);

/** Uncompressed RLE (iscrowd annotations in the original COCO files): run lengths, column-major, starting with zeros. */
export const uncompressedRleSchema = z.object({ size: rleSize, counts: z.array(z.int().nonnegative()) });
/** Compressed RLE: pycocotools' LEB128-like ASCII string. */
export const compressedRleSchema = z.object({ size: rleSize, counts: z.string() });

export const segmentationSchema = z.union([
  z.array(polygonSchema),
  uncompressedRleSchema,
  compressedRleSchema,
]);

/** COCO box [x, y, width, height]; sizes may be 0 in real COCO files (degenerate objects), never negative. */
export const bboxSchema = z.tuple([z.number(), z.number(), nonNegative, nonNegative]);

export const imageSchema = z.looseObject({
  id,
  file_name: z.string().min(1),
  width: z.int().positive(),
  height: z.int().positive(),
});

export const categorySchema = z.looseObject({
  id,
  name: z.string().min(1),
  supercategory: z.string().optional(),
});

export const annotationSchema = z.looseObject({
  id,
  image_id: id,
  category_id: id,
  segmentation: segmentationSchema.optional(),
  bbox: bboxSchema.optional(),
  area: nonNegative.optional(),
  iscrowd: z.union([z.literal(0), z.literal(1)]).optional(),
});

export type Polygon = number[];
export type UncompressedRle = z.infer<typeof uncompressedRleSchema>;
export type CompressedRle = z.infer<typeof compressedRleSchema>;
export type Segmentation = z.infer<typeof segmentationSchema>;
export type Bbox = [number, number, number, number];
export type CocoImage = z.infer<typeof imageSchema>;
export type CocoCategory = z.infer<typeof categorySchema>;
export type CocoAnnotation = z.infer<typeof annotationSchema>;

export interface CocoDataset {
  info?: Record<string, unknown>;
  licenses?: unknown[];
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  /** Any other top-level keys, kept for round trips. */
  [extra: string]: unknown;
}

export function isPolygons(s: Segmentation): s is Polygon[] {
  return Array.isArray(s);
}

export function isCompressedRle(s: Segmentation): s is CompressedRle {
  return !Array.isArray(s) && typeof s.counts === 'string';
}
