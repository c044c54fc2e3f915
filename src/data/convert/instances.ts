// Instance annotations from label maps: one COCO annotation per instance id, with a compressed-RLE
// mask (byte-identical to pycocotools), its tight box and pixel area.
import { rleArea, rleEncode, rleToBbox, rleToCoco } from '../mask/index.ts';
import { VOC_CLASSES, VOC_VOID } from './voc-palette.ts';

export interface NewAnnotation {
  image_id: number;
  category_id: number;
  segmentation: { size: [number, number]; counts: string };
  area: number;
  bbox: [number, number, number, number];
  iscrowd: 0;
}

function toAnnotation(
  imageId: number,
  categoryId: number,
  mask: Uint8Array,
  h: number,
  w: number,
): NewAnnotation {
  const rle = rleEncode({ height: h, width: w, data: mask });
  return {
    image_id: imageId,
    category_id: categoryId,
    segmentation: rleToCoco(rle),
    area: rleArea(rle),
    bbox: rleToBbox(rle),
    iscrowd: 0,
  };
}

/** Sorted instance ids present in a map, without background 0 and void 255. */
function instanceIds(map: Uint8Array): number[] {
  const seen = new Uint8Array(256);
  for (let i = 0; i < map.length; i++) seen[map[i]] = 1;
  const ids: number[] = [];
  for (let k = 1; k < VOC_VOID; k++) if (seen[k]) ids.push(k);
  return ids;
}

/**
 * VOC: instance k = pixels where SegmentationObject == k (void 255 belongs to no instance); its
 * class is the most frequent SegmentationClass value over those pixels among 1..20 (the two maps
 * agree in the devkit's data; a majority vote keeps a stray pixel from failing a conversion).
 * Both maps are row-major [h*w].
 */
export function vocInstances(
  imageId: number,
  obj: Uint8Array,
  cls: Uint8Array,
  h: number,
  w: number,
  where: string,
): NewAnnotation[] {
  const out: NewAnnotation[] = [];
  for (const k of instanceIds(obj)) {
    const votes = new Uint32Array(256);
    const mask = new Uint8Array(h * w);
    for (let i = 0; i < obj.length; i++)
      if (obj[i] === k) {
        mask[i] = 1;
        votes[cls[i]]++;
      }
    let best = 0;
    for (let c = 1; c <= VOC_CLASSES.length; c++)
      if (votes[c] > votes[best] || (best === 0 && votes[c] > 0)) best = c;
    if (best === 0)
      throw new Error(
        `${where}: instance ${k} has no pixel of a class 1..20 in SegmentationClass (found only background/void)`,
      );
    out.push(toAnnotation(imageId, best, mask, h, w));
  }
  return out;
}

/**
 * SBD (GTinst): instance k = pixels where Segmentation == k, class Categories[k-1]. `seg` is the
 * MATLAB array, column-major [w*h] (dims [h, w]); masks are built row-major.
 */
export function sbdInstances(
  imageId: number,
  seg: Float64Array,
  categories: Float64Array,
  h: number,
  w: number,
  where: string,
): NewAnnotation[] {
  const rowMajor = new Uint8Array(h * w);
  for (let x = 0; x < w; x++)
    for (let y = 0; y < h; y++) {
      const v = seg[x * h + y];
      if (!Number.isInteger(v) || v < 0 || v > 254)
        throw new Error(
          `${where}: GTinst.Segmentation has value ${v} at (x ${x}, y ${y}); expected instance ids 0..254`,
        );
      rowMajor[y * w + x] = v;
    }
  const out: NewAnnotation[] = [];
  for (const k of instanceIds(rowMajor)) {
    if (k > categories.length)
      throw new Error(
        `${where}: instance ${k} in GTinst.Segmentation but GTinst.Categories lists ${categories.length}`,
      );
    const c = categories[k - 1];
    if (!Number.isInteger(c) || c < 1 || c > VOC_CLASSES.length)
      throw new Error(`${where}: GTinst.Categories(${k}) = ${c}, not a VOC class 1..20`);
    const mask = new Uint8Array(h * w);
    for (let i = 0; i < mask.length; i++) mask[i] = rowMajor[i] === k ? 1 : 0;
    out.push(toAnnotation(imageId, c, mask, h, w));
  }
  return out;
}
