// Reads the SAM parity fixture (../shared/fixtures/sam beside the repository root): manifest, raw
// little-endian tensors, the tiny checkpoint. Shared by the decoder / prompt / predictor / CLI tests.
import { join } from 'node:path';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';
import { loadSam } from '../../src/sam/build.ts';
import type { Sam } from '../../src/sam/sam.ts';
import { SAM_FIXTURE, maxAbsDiff, readFixture, samManifest } from './fixture.ts';

export { maxAbsDiff };
export const SAM_FIXTURE_DIR = SAM_FIXTURE;
export const TINY_SAM_PTH = join(SAM_FIXTURE, 'tiny_sam.pth');
export const TINY_SAM_CONFIG = join(SAM_FIXTURE, 'tiny_sam_config.json');

export interface FixtureTensorInfo {
  file: string;
  dtype: 'float32' | 'int32' | 'uint8';
  shape: number[];
}

export interface FixtureCase {
  image: 'landscape' | 'portrait';
  name: string;
  multimask_output: boolean;
  return_logits: boolean;
  point_coords: number[][] | null;
  point_labels: number[] | null;
  box: number[] | null;
  mask_input: { from: { name: string; multimask_output: boolean }; rule: string } | null;
  iou_predictions: number[];
  stability_scores: number[];
  tensors: Record<string, string>;
}

export interface FixtureImage {
  png: string;
  original_hw: [number, number];
  input_hw: [number, number];
  tensors: Record<string, string>;
}

export interface SamManifest {
  config: Record<string, unknown> & { img_size: number };
  mask_threshold: number;
  stability_score_offset: number;
  images: Record<string, FixtureImage>;
  cases: FixtureCase[];
  tensors: Record<string, FixtureTensorInfo>;
}

/** The manifest with the fields the decoder-side tests read (fixture.ts reads the file). */
export const manifest = samManifest() as unknown as SamManifest;

/** The raw values of a fixture tensor and its shape. */
export const readRaw = readFixture;

/** A fixture tensor as an engine tensor (caller disposes). */
export function readTensor(name: string): Tensor {
  const { data, shape } = readFixture(name);
  return torch.fromTypedArray(data, shape);
}

/** Fixture path of a case's tensor: `${image}/${name}/${multi|single}/${tensor}`. */
export const caseKey = (c: FixtureCase): string =>
  `${c.image}/${c.name}/${c.multimask_output ? 'multi' : 'single'}`;

/** Largest error seen per tensor kind across the tests of one file (printed for the report). */
export class ErrorLog {
  readonly worst = new Map<string, number>();
  note(kind: string, err: number): number {
    this.worst.set(kind, Math.max(this.worst.get(kind) ?? 0, err));
    return err;
  }
  print(title: string): void {
    const parts = [...this.worst].map(([k, v]) => `${k}=${v.toExponential(2)}`);
    console.log(`# ${title} max abs errors: ${parts.join(' ')}`);
  }
}

/** The tiny SAM of the fixture, weights loaded (eval mode). */
/**
 * A tolerance for the current test device: a GPU's kernels sum in other orders than the CPU's, and its
 * cuDNN convolutions use TF32 unless NVIDIA_TF32_OVERRIDE=0 (scripts/gpu-check.sh sets it), so errors are
 * allowed 30x more there.
 */
export const onDevice = (tol: number): number =>
  process.env.WISH_TEST_DEVICE?.startsWith('cuda') ? 30 * tol : tol;

// WISH_TEST_DEVICE=cuda runs the parity tests with SAM on the GPU (they run on the CPU otherwise).
export const loadTinySam = (): Promise<Sam> =>
  loadSam(TINY_SAM_PTH, { config: TINY_SAM_CONFIG, device: process.env.WISH_TEST_DEVICE ?? 'cpu' });
