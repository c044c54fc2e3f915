// COCOeval's default detection parameters (pycocotools Params.setDetParams).
import { linspace } from './numpy.ts';
import type { EvalGroundTruth, EvalParams, IouType } from './types.ts';

export function defaultParams(gt: EvalGroundTruth, iouType: IouType): EvalParams {
  const sortedUnique = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);
  return {
    iouType,
    imgIds: sortedUnique(gt.images.map((im) => im.id)),
    catIds: sortedUnique(gt.categories.map((c) => c.id)),
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0, 1, Math.round((1 - 0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [
      [0, 1e5 ** 2],
      [0, 32 ** 2],
      [32 ** 2, 96 ** 2],
      [96 ** 2, 1e5 ** 2],
    ],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
  };
}
