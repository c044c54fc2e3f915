// The built-in synthetic shapes dataset: in-memory scenes and the on-disk COCO writer.
export {
  generateScene,
  resolveOptions,
  SYNTH_DEFAULTS,
  type SynthInstance,
  type SynthOptions,
  type SynthScene,
} from './scene.ts';
export { DEFAULT_CLASSES, parseClasses, SHAPE_CLASSES, type ShapeClass } from './shapes.ts';
export { TEXTURE_KINDS } from './textures.ts';
export { mix32, Rng, seededRandom } from './rng.ts';
export { sceneAnnotations, synthCategories } from './coco.ts';
export {
  ANNOTATIONS_FILE,
  synthFileName,
  writeSynthDataset,
  type WriteSynthOptions,
  type WriteSynthResult,
} from './write.ts';
