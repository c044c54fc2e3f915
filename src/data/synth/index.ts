// The built-in synthetic shapes dataset: in-memory scenes and the on-disk COCO writer.
//
// In memory (what the trainer and demo call; no files):
//   const scene = generateScene(seed, index, { size: 128, classes: ['disc', 'square', 'triangle', 'ring'] });
//   scene.image: Uint8Array H x W x 3; scene.instances[j] = { classId, mask: Uint8Array H x W (0/1), area, ... }
//   classId indexes `classes` (0-based); COCO category_id = classId + 1. Scene i depends only on
//   (seed, i, options), so datasets of any length are generated lazily and identically.
// On disk (`wish synth`): DIR/annotations.json + DIR/images/NNNNNN.png, file_name relative to DIR.
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
