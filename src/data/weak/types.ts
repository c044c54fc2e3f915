// The weak-label dataset: COCO-shaped JSON where each image carries ONE kind of label, named by a
// per-image `label_type` (the Omni-DETR convention). See docs/formats.md.
import { z } from 'zod';
import { categorySchema, imageSchema, segmentationSchema } from '../coco/types.ts';

export const WEAK_LABEL_TYPES = ['tag', 'point', 'box', 'mask', 'none'] as const;
export type WeakLabelType = (typeof WEAK_LABEL_TYPES)[number];

export const weakImageSchema = imageSchema.extend({
  label_type: z.enum(WEAK_LABEL_TYPES),
  /** Class ids present in the image; only on tag images. */
  tags: z.array(z.int().nonnegative()).optional(),
});

const id = z.int().nonnegative();

/** Shape only; which fields an annotation must or must not have depends on its image (validate.ts). */
export const weakAnnotationSchema = z.looseObject({
  id,
  image_id: id,
  category_id: id,
  /** One click inside the instance, [x, y] in pixel coordinates (pixel (i, j) spans [j, j+1) x [i, i+1)). */
  point: z.tuple([z.number(), z.number()]).optional(),
  /** [x, y, width, height]; signs and extent are checked against the image in validate.ts. */
  bbox: z.tuple([z.number(), z.number(), z.number(), z.number()]).optional(),
  segmentation: segmentationSchema.optional(),
  area: z.number().nonnegative().optional(),
  iscrowd: z.union([z.literal(0), z.literal(1)]).optional(),
});

export type WeakImage = z.infer<typeof weakImageSchema>;
export type WeakAnnotation = z.infer<typeof weakAnnotationSchema>;
export type WeakCategory = z.infer<typeof categorySchema>;

export interface WeakDataset {
  info?: Record<string, unknown>;
  images: WeakImage[];
  annotations: WeakAnnotation[];
  categories: WeakCategory[];
  [extra: string]: unknown;
}

/** What each label type carries on its annotations. */
export const ANNOTATION_FIELD: Record<WeakLabelType, 'point' | 'bbox' | 'segmentation' | null> = {
  tag: null,
  point: 'point',
  box: 'bbox',
  mask: 'segmentation',
  none: null,
};
