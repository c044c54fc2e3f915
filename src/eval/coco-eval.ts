// COCOeval for iouType segm and bbox: evaluate -> accumulate -> summarize in one call.
import { accumulate } from './accumulate.ts';
import { evaluate, type Progress } from './evaluate.ts';
import { defaultParams } from './params.ts';
import { computeStats, perCategory, summaryLines, type CategoryResult } from './summarize.ts';
import type { Accumulated, Detection, EvalGroundTruth, IouType, Stats } from './types.ts';

export interface CocoEvalResult {
  iouType: IouType;
  stats: Stats;
  /** pycocotools' printed summary, one string per line. */
  lines: string[];
  perCategory: CategoryResult[];
  accumulated: Accumulated;
}

export function cocoEval(
  gt: EvalGroundTruth,
  dts: Detection[],
  iouType: IouType,
  onProgress?: Progress,
): CocoEvalResult {
  const params = defaultParams(gt, iouType);
  const acc = accumulate(evaluate(gt, dts, params, onProgress));
  const stats = computeStats(acc);
  return { iouType, stats, lines: summaryLines(acc, stats), perCategory: perCategory(acc), accumulated: acc };
}
