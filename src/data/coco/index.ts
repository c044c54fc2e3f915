// COCO instances JSON: types, loading with validation, writing.
export * from './types.ts';
export * from './issues.ts';
export { loadCocoJson, validateCoco, type LoadCocoOptions } from './load.ts';
export { readCocoShapedJson, DEFAULT_STREAM_ABOVE_BYTES, type ReadJsonOptions } from './read-json.ts';
export { writeCocoShapedJson } from './write.ts';
export { checkRecord, crossCheck } from './validate.ts';
export { rebaseFileName, resolveImagePath } from './paths.ts';
