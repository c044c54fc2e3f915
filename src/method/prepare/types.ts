// What `wish prepare` leaves on disk and what the trainer reads back: SAM's three candidate masks for
// every point and box label (computed once, in the ORIGINAL image frame), plus image embeddings for the
// images whose labels need SAM during training (tag images: CAM peaks become point prompts, Eq. 18).
//
// Layout of a prepared folder (written by src/method/prepare/prepare.ts):
//   prepared.json        manifest: format, the weak-label file and image folder it was made from (absolute
//                        paths), the teacher (checkpoint path, sha256, SamConfig), SAM's geometry, counts
//   labels.jsonl         one line per image with point/box labels: {"image_id", "labels": [PreparedLabel]}
//                        (append-only while running so an interrupted run resumes; rewritten atomically,
//                        sorted by image id, when the run completes)
//   embeddings/          the SAM embedding cache (src/sam/cache/) for the images that need SAM at train time
import type { CocoRle } from '../../data/mask/index.ts';
import type { WeakDataset } from '../../data/weak/types.ts';
import type { SamConfig } from '../../sam/config.ts';

export const PREPARED_FORMAT = 'wish.prepared/1';

/** SAM's answer for one point or box label, kept at the original image size. */
export interface PreparedLabel {
  annotationId: number;
  /** Category id as in the dataset's `categories` (not a 0-based class index). */
  categoryId: number;
  kind: 'point' | 'box';
  /** The prompt in original-image pixel coordinates: [x, y] for points, COCO [x, y, w, h] for boxes. */
  prompt: number[];
  /** SAM's three multimask outputs (levels 1..3, official order), binarised at logit 0, compressed RLE. */
  masks: [CocoRle, CocoRle, CocoRle];
  /** SAM's IoU predictions for the three masks. */
  iou: [number, number, number];
  /** Stability scores (threshold 0, offset 1) for the three masks. */
  stability: [number, number, number];
}

export interface PreparedManifest {
  format: typeof PREPARED_FORMAT;
  /** Absolute path of the weak-label JSON it was prepared from, and its sha256. */
  data: string;
  dataSha256: string;
  /** Absolute path of the image folder that `file_name`s resolve against. */
  images: string;
  teacher: { checkpoint: string; sha256: string; config: SamConfig };
  counts: { images: number; pointLabels: number; boxLabels: number; embeddedImages: number };
  /** True once every image is done (an interrupted run leaves false and resumes). */
  complete: boolean;
}

/** A prepared dataset in memory, as the trainer uses it. */
export interface PreparedDataset {
  dir: string;
  manifest: PreparedManifest;
  weak: WeakDataset;
  /** image id -> its point/box labels with SAM's masks (absent for tag / mask / none images). */
  labels: Map<number, PreparedLabel[]>;
  /** Folder of the SAM embedding cache (src/sam/cache/ entry format) for tag images. */
  embeddingsDir: string;
}
