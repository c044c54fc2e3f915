// Converters from public datasets' original layouts to the project's COCO-shaped dataset.
export { convertVoc, vocImageId, type VocConvertOptions, type VocConvertResult } from './voc.ts';
export { convertCoco, type CocoConvertOptions, type CocoConvertResult } from './coco2017.ts';
export { readMat5, type MatValue } from './mat5.ts';
export { readLabelPng, type LabelMap } from './label-png.ts';
export { VOC_CLASSES, VOC_VOID, vocColormap } from './voc-palette.ts';
