// Carry an image and its instance labels (masks, points, boxes) through one FrameMap, so
// that all of them move together. Resampling happens once, however many steps built the map.
import { resampleBilinear, resampleImage, resampleMask } from '../image/resample.ts';
import type { RgbImage } from '../image/types.ts';
import { decode, encode, type CocoRle } from '../mask/index.ts';
import {
  axisX,
  axisY,
  clipBox,
  invertMap,
  mapBox,
  mapPoint,
  type Box,
  type FrameMap,
  type Point,
} from './frame-map.ts';

/** Bilinear image warp; pixels outside the source get `pad` (detectron2's FixedSizeCrop pads 128). */
export function warpImage(img: RgbImage, m: FrameMap, pad = 0): RgbImage {
  checkSource(m, img.width, img.height, 'image');
  return resampleImage(img, axisX(m), axisY(m), m.dstWidth, m.dstHeight, pad);
}

/** Nearest warp of a binary mask (H x W row-major); padding is 0. */
export function warpMask(mask: Uint8Array, m: FrameMap): Uint8Array {
  checkSource(m, m.srcWidth, m.srcHeight, 'mask');
  return resampleMask(mask, m.srcWidth, m.srcHeight, axisX(m), axisY(m), m.dstWidth, m.dstHeight);
}

/** Nearest warp of a COCO compressed RLE (pycocotools layout) through decode / warpMask / encode. */
export function warpRle(rle: CocoRle, m: FrameMap): CocoRle {
  const mask = decode(rle);
  checkSource(m, mask.width, mask.height, 'RLE mask');
  return encode({ height: m.dstHeight, width: m.dstWidth, data: warpMask(mask.data, m) });
}

/**
 * Bilinear warp of a single-channel float map (mask logits, probabilities, CAMs). Threshold the
 * result to get a mask that is smoother than `warpMask` when enlarging (e.g. SAM's 256x256 logits).
 */
export function warpFloat(map: ArrayLike<number>, m: FrameMap, pad = 0): Float32Array {
  return resampleBilinear(map, m.srcWidth, m.srcHeight, 1, axisX(m), axisY(m), m.dstWidth, m.dstHeight, pad);
}

function checkSource(m: FrameMap, width: number, height: number, what: string): void {
  if (m.srcWidth !== width || m.srcHeight !== height) {
    throw new Error(
      `${what} is ${width}x${height} but the frame map starts from ${m.srcWidth}x${m.srcHeight}`,
    );
  }
}

/** One instance's labels in the source frame; any subset may be given. */
export interface LabeledInstance {
  mask?: Uint8Array; // H x W bitmap
  rle?: CocoRle; // the same as compressed RLE
  point?: Point;
  box?: Box;
}

export interface LabeledSample<I extends LabeledInstance = LabeledInstance> {
  image: RgbImage;
  instances: I[];
}

export interface WarpedSample<I extends LabeledInstance = LabeledInstance> {
  image: RgbImage;
  /** The surviving instances, in input order, with their labels in the destination frame. */
  instances: I[];
  /** kept[j] = index in the input of output instance j. */
  kept: number[];
  /** Source (original) frame -> destination (augmented) frame. */
  map: FrameMap;
  /** Destination frame -> source frame. */
  inverse: FrameMap;
}

function anySet(mask: Uint8Array): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) return true;
  return false;
}

/** detectron2's filter_empty_instances threshold for a degenerate box side. */
const MIN_BOX_SIDE = 1e-5;

/**
 * Applies `m` to the image and every instance. An instance survives when ALL its given parts
 * survive: its mask keeps at least one pixel, its point lands in [0, W'] x [0, H'] (closed, so a
 * point on the right edge survives a flip), its box keeps positive width and height after
 * clipping to the destination frame. Extra fields on instances are copied unchanged.
 */
export function warpSample<I extends LabeledInstance>(
  sample: LabeledSample<I>,
  m: FrameMap,
  imagePad = 0,
): WarpedSample<I> {
  const image = warpImage(sample.image, m, imagePad);
  const instances: I[] = [];
  const kept: number[] = [];
  sample.instances.forEach((inst, i) => {
    const out: I = { ...inst };
    if (inst.mask) {
      if (inst.mask.length !== m.srcWidth * m.srcHeight) {
        throw new Error(
          `instance ${i}: mask has ${inst.mask.length} pixels, image is ${m.srcWidth}x${m.srcHeight}`,
        );
      }
      out.mask = warpMask(inst.mask, m);
      if (!anySet(out.mask)) return;
    }
    if (inst.rle) {
      const src = decode(inst.rle);
      checkSource(m, src.width, src.height, `instance ${i} RLE`);
      const warped = warpMask(src.data, m);
      if (!anySet(warped)) return;
      out.rle = encode({ height: m.dstHeight, width: m.dstWidth, data: warped });
    }
    if (inst.point) {
      const p = mapPoint(m, inst.point);
      if (!(p[0] >= 0 && p[0] <= m.dstWidth && p[1] >= 0 && p[1] <= m.dstHeight)) return;
      out.point = p;
    }
    if (inst.box) {
      const b = clipBox(mapBox(m, inst.box), m.dstWidth, m.dstHeight);
      if (!(b[2] > MIN_BOX_SIDE && b[3] > MIN_BOX_SIDE)) return;
      out.box = b;
    }
    instances.push(out);
    kept.push(i);
  });
  return { image, instances, kept, map: m, inverse: invertMap(m) };
}

/** The destination-frame box [x, y, w, h] covered by source pixels (the rest is padding). */
export function validRegion(m: FrameMap): Box {
  return clipBox(mapBox(m, [0, 0, m.srcWidth, m.srcHeight]), m.dstWidth, m.dstHeight);
}
