// The minimal COCO shapes the evaluator reads. Any fuller COCO dataset type (src/data/coco) fits.
import type { Box, Rle } from '../data/mask/index.ts';

export type IouType = 'segm' | 'bbox';

export interface EvalImage {
  id: number;
  width: number;
  height: number;
}

export interface EvalCategory {
  id: number;
  name?: string;
}

export interface EvalAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** Polygons, uncompressed RLE or compressed RLE (needed for segm). */
  segmentation?: unknown;
  /** [x, y, w, h] (needed for bbox). */
  bbox?: number[];
  /** Decides the size range (small/medium/large); pycocotools uses this field, not the mask's area. */
  area?: number;
  iscrowd?: number | boolean;
}

export interface EvalGroundTruth {
  images: EvalImage[];
  categories: EvalCategory[];
  annotations: EvalAnnotation[];
}

/** A detection as COCO.loadRes leaves it: id is the 1-based position in the results file. */
export interface Detection {
  id: number;
  image_id: number;
  category_id: number;
  score: number;
  /** Mask pixel count, or box w*h when the first result carries a bbox (pycocotools' rule). */
  area: number;
  bbox: Box;
  /** Parsed mask when the result had one (compressed RLE in segm results, any form next to a bbox). */
  rle?: Rle;
  /** The mask's tight box (rleToBbox of rle), kept for the IoU pre-check; may differ from bbox. */
  maskBox?: Box;
}

/** pycocotools' Params for detection evaluation. */
export interface EvalParams {
  iouType: IouType;
  imgIds: number[];
  catIds: number[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: [number, number][];
  areaRngLbl: string[];
}

/** COCOeval.eval after accumulate(): precision [T][R][K][A][M], recall [T][K][A][M], -1 where undefined. */
export interface Accumulated {
  params: EvalParams;
  precision: Float64Array;
  recall: Float64Array;
  /** Score at each recall threshold, same layout as precision. */
  scores: Float64Array;
}

export const STAT_KEYS = [
  'AP',
  'AP50',
  'AP75',
  'APs',
  'APm',
  'APl',
  'AR1',
  'AR10',
  'AR100',
  'ARs',
  'ARm',
  'ARl',
] as const;
export type StatKey = (typeof STAT_KEYS)[number];
export type Stats = Record<StatKey, number>;
