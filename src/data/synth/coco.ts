// A synthetic scene as COCO records: compressed-RLE segmentation (pycocotools-identical via the
// mask API), tight bbox of the mask, area = visible pixel count, iscrowd 0.
import type { CocoAnnotation, CocoCategory } from '../coco/types.ts';
import { encode, toBbox } from '../mask/index.ts';
import type { SynthScene } from './scene.ts';
import type { ShapeClass } from './shapes.ts';

/** COCO category ids start at 1: category_id = classId + 1. */
export function synthCategories(classes: readonly ShapeClass[]): CocoCategory[] {
  return classes.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
}

export function sceneAnnotations(scene: SynthScene, imageId: number, firstAnnId: number): CocoAnnotation[] {
  return scene.instances.map((inst, j) => {
    const segmentation = encode({ height: scene.height, width: scene.width, data: inst.mask });
    return {
      id: firstAnnId + j,
      image_id: imageId,
      category_id: inst.classId + 1,
      segmentation,
      area: inst.area,
      bbox: toBbox(segmentation),
      iscrowd: 0,
    };
  });
}
