// The geometry of an augmentation: an axis-aligned affine map between two image frames.
//
// Convention (COCO continuous coordinates): pixel (i, j) covers [i, i+1) x [j, j+1); a point
// [x, y] and a box [x, y, w, h] live in the same continuous frame. A FrameMap sends a point of
// the source frame (srcWidth x srcHeight) to the destination frame (dstWidth x dstHeight):
//
//     x' = sx * x + tx        y' = sy * y + ty
//
// Resize by s:          sx = newW / W, tx = 0
// Crop at (x0, y0):     sx = 1,        tx = -x0   (destination larger than the rest = padding)
// Horizontal flip:      sx = -1,       tx = W     (x -> W - x; pixel i -> pixel W-1-i)
//
// Maps compose and invert in closed form, so coordinates and masks can be carried between the
// original frame (where SAM runs) and the augmented frame (where the model sees the image)
// exactly, in both directions.
import type { AxisMap } from '../image/resample.ts';

export interface FrameMap {
  sx: number;
  tx: number;
  sy: number;
  ty: number;
  srcWidth: number;
  srcHeight: number;
  dstWidth: number;
  dstHeight: number;
}

/** Human-readable parts of a map: scale magnitudes, offsets, and whether it mirrors x. */
export interface MapParts {
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
  flip: boolean;
}

export function identityMap(width: number, height: number): FrameMap {
  return {
    sx: 1,
    tx: 0,
    sy: 1,
    ty: 0,
    srcWidth: width,
    srcHeight: height,
    dstWidth: width,
    dstHeight: height,
  };
}

/** Resize to newW x newH (per-axis scale newW/W, newH/H, as detectron2 maps coordinates). */
export function resizeMap(width: number, height: number, newW: number, newH: number): FrameMap {
  return {
    sx: newW / width,
    tx: 0,
    sy: newH / height,
    ty: 0,
    srcWidth: width,
    srcHeight: height,
    dstWidth: newW,
    dstHeight: newH,
  };
}

/** Window [x0, x0+cropW) x [y0, y0+cropH) of the source becomes the destination (may pad). */
export function cropMap(
  width: number,
  height: number,
  x0: number,
  y0: number,
  cropW: number,
  cropH: number,
): FrameMap {
  return {
    sx: 1,
    tx: -x0,
    sy: 1,
    ty: -y0,
    srcWidth: width,
    srcHeight: height,
    dstWidth: cropW,
    dstHeight: cropH,
  };
}

export function flipMap(width: number, height: number): FrameMap {
  return {
    sx: -1,
    tx: width,
    sy: 1,
    ty: 0,
    srcWidth: width,
    srcHeight: height,
    dstWidth: width,
    dstHeight: height,
  };
}

/** `second` after `first`: the first's destination frame must be the second's source frame. */
export function composeMaps(first: FrameMap, second: FrameMap): FrameMap {
  if (first.dstWidth !== second.srcWidth || first.dstHeight !== second.srcHeight) {
    throw new Error(
      `cannot compose frame maps: first ends in ${first.dstWidth}x${first.dstHeight}, second starts in ${second.srcWidth}x${second.srcHeight}`,
    );
  }
  return {
    sx: second.sx * first.sx,
    tx: second.sx * first.tx + second.tx,
    sy: second.sy * first.sy,
    ty: second.sy * first.ty + second.ty,
    srcWidth: first.srcWidth,
    srcHeight: first.srcHeight,
    dstWidth: second.dstWidth,
    dstHeight: second.dstHeight,
  };
}

/** The map from the destination frame back to the source frame. */
export function invertMap(m: FrameMap): FrameMap {
  return {
    sx: 1 / m.sx,
    tx: -m.tx / m.sx,
    sy: 1 / m.sy,
    ty: -m.ty / m.sy,
    srcWidth: m.dstWidth,
    srcHeight: m.dstHeight,
    dstWidth: m.srcWidth,
    dstHeight: m.srcHeight,
  };
}

export function mapParts(m: FrameMap): MapParts {
  return { scaleX: Math.abs(m.sx), scaleY: Math.abs(m.sy), offsetX: m.tx, offsetY: m.ty, flip: m.sx < 0 };
}

export function axisX(m: FrameMap): AxisMap {
  return { scale: m.sx, offset: m.tx };
}

export function axisY(m: FrameMap): AxisMap {
  return { scale: m.sy, offset: m.ty };
}

export type Point = [number, number];
export type Box = [number, number, number, number]; // COCO [x, y, w, h]

export function mapPoint(m: FrameMap, p: readonly number[]): Point {
  return [m.sx * p[0] + m.tx, m.sy * p[1] + m.ty];
}

/** Maps a box's two corners and re-orders them (a flip swaps left and right). Not clipped. */
export function mapBox(m: FrameMap, b: readonly number[]): Box {
  const xa = m.sx * b[0] + m.tx;
  const xb = m.sx * (b[0] + b[2]) + m.tx;
  const ya = m.sy * b[1] + m.ty;
  const yb = m.sy * (b[1] + b[3]) + m.ty;
  const x0 = Math.min(xa, xb);
  const y0 = Math.min(ya, yb);
  return [x0, y0, Math.max(xa, xb) - x0, Math.max(ya, yb) - y0];
}

/** Clips a box to [0, W] x [0, H]. */
export function clipBox(b: readonly number[], width: number, height: number): Box {
  const x0 = Math.min(Math.max(b[0], 0), width);
  const y0 = Math.min(Math.max(b[1], 0), height);
  const x1 = Math.min(Math.max(b[0] + b[2], 0), width);
  const y1 = Math.min(Math.max(b[1] + b[3], 0), height);
  return [x0, y0, x1 - x0, y1 - y0];
}
