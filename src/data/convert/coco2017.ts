// COCO 2017 (instances_*.json + an images folder) -> the project's dataset: validated, category ids
// kept, file_name made relative to the output JSON's folder, every image checked to exist.
import { stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { IssueList } from '../coco/issues.ts';
import { loadCocoJson } from '../coco/load.ts';
import type { CocoAnnotation, CocoDataset } from '../coco/types.ts';
import { annToRle, rleToCoco } from '../mask/index.ts';

export interface CocoConvertOptions {
  annotations: string;
  images: string;
  out: string;
  /** Store every segmentation as compressed RLE (polygons rasterised as pycocotools does). */
  rle?: boolean;
  /** Drop images whose file is missing (and their annotations), counting them, instead of failing. */
  skipMissing?: boolean;
  /** Read each image's header and check its size against width/height (slower). */
  checkSizes?: boolean;
  streamAboveBytes?: number;
  onLoadProgress?: (bytes: number, total: number) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface CocoConvertResult {
  dataset: CocoDataset;
  missing: string[];
}

export async function convertCoco(o: CocoConvertOptions): Promise<CocoConvertResult> {
  const ds = await loadCocoJson(o.annotations, {
    streamAboveBytes: o.streamAboveBytes,
    onProgress: o.onLoadProgress,
  });
  const outDir = dirname(resolve(o.out));
  const issues = new IssueList(o.annotations);
  const missing: string[] = [];
  const keep = new Set<number>();
  const images = [];
  for (let i = 0; i < ds.images.length; i++) {
    const im = ds.images[i];
    const path = join(o.images, im.file_name);
    const rec = `image id ${im.id} (images[${i}])`;
    const st = await stat(path).catch(() => null);
    if (!st || !st.isFile()) {
      missing.push(path);
      if (!o.skipMissing) issues.add(rec, 'file_name', `image file ${path} does not exist`);
    } else {
      if (o.checkSizes) {
        const m = await sharp(path)
          .metadata()
          .catch((err: Error) => {
            issues.add(rec, 'file_name', `cannot read ${path}: ${err.message}`);
            return null;
          });
        if (m && (m.width !== im.width || m.height !== im.height))
          issues.add(
            rec,
            'width',
            `JSON says ${im.width}x${im.height} but ${path} is ${m.width}x${m.height}`,
          );
      }
      keep.add(im.id);
      images.push({ ...im, file_name: relative(outDir, resolve(path)).split('\\').join('/') });
    }
    o.onProgress?.(i + 1, ds.images.length);
  }
  issues.throwIfAny();

  const annotations: CocoAnnotation[] = [];
  for (const a of ds.annotations) {
    if (keep.has(a.image_id)) annotations.push(a);
  }
  if (o.rle) {
    const sizes = new Map(images.map((im) => [im.id, im]));
    for (let i = 0; i < annotations.length; i++) {
      const a = annotations[i];
      if (
        a.segmentation === undefined ||
        (!Array.isArray(a.segmentation) && typeof a.segmentation.counts === 'string')
      )
        continue;
      const im = sizes.get(a.image_id)!;
      try {
        annotations[i] = { ...a, segmentation: rleToCoco(annToRle(a.segmentation, im.height, im.width)) };
      } catch (err) {
        issues.add(`annotation id ${a.id}`, 'segmentation', (err as Error).message);
      }
    }
    issues.throwIfAny();
  }
  const dataset: CocoDataset = {
    ...ds,
    info: { ...(ds.info ?? {}), converted_by: 'wish convert coco', source: o.annotations },
    images,
    annotations,
  };
  return { dataset, missing };
}
