// pycocotools.mask in TypeScript: byte-identical compressed RLE, same rasterisation and IoU rules.
export * from './types.ts';
export { countsFromString, countsToString } from './codec.ts';
export {
  checkSize,
  rleArea,
  rleDecode,
  rleEncode,
  rleFromCoco,
  rleFromCounts,
  rleFromUncompressed,
  rleIntersectUnion,
  rleMerge,
  rleToBbox,
  rleToCoco,
  rleToUncompressed,
} from './rle.ts';
export { rleFromBox, rleFromPolygon } from './polygon.ts';
export { boxIou, rleIou } from './iou.ts';
export { annToRle, area, decode, encode, frPyObjects, frPyObjectsRle, iou, merge, toBbox } from './api.ts';
