// PASCAL VOC's 20 classes (ids 1..20 in the order of the devkit) and its 256-colour label palette.

export const VOC_CLASSES = [
  'aeroplane',
  'bicycle',
  'bird',
  'boat',
  'bottle',
  'bus',
  'car',
  'cat',
  'chair',
  'cow',
  'diningtable',
  'dog',
  'horse',
  'motorbike',
  'person',
  'pottedplant',
  'sheep',
  'sofa',
  'train',
  'tvmonitor',
] as const;

/** 255 marks void: object boundaries and regions the annotators left undecided. */
export const VOC_VOID = 255;

/**
 * The devkit's colour map (VOClabelcolormap.m): bits 0,1,2 of the index go to the top bits of
 * R, G, B, then the next three bits one position lower, and so on. Index 255 is (224, 224, 192).
 */
export function vocColormap(): Uint8Array {
  const cmap = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    let r = 0;
    let g = 0;
    let b = 0;
    let c = i;
    for (let j = 0; j < 8; j++) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
      c >>= 3;
    }
    cmap.set([r, g, b], i * 3);
  }
  return cmap;
}

/** RGB (packed as r<<16|g<<8|b) -> palette index. */
export function vocColorIndex(): Map<number, number> {
  const cmap = vocColormap();
  const m = new Map<number, number>();
  for (let i = 0; i < 256; i++) m.set((cmap[i * 3] << 16) | (cmap[i * 3 + 1] << 8) | cmap[i * 3 + 2], i);
  return m;
}
