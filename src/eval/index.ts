// COCO detection/segmentation evaluation with pycocotools' exact semantics.
export * from './types.ts';
export { defaultParams } from './params.ts';
export { loadResults, readResultsFile } from './load-results.ts';
export { evaluate, type Evaluated, type ImageEval, type Progress } from './evaluate.ts';
export { accumulate } from './accumulate.ts';
export { computeStats, perCategory, summaryLines, type CategoryResult } from './summarize.ts';
export { cocoEval, type CocoEvalResult } from './coco-eval.ts';
