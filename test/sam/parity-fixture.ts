// Reads the SAM parity fixture (../shared/fixtures/sam beside the repository root): manifest, raw
// little-endian tensors, the tiny checkpoint. Shared by the decoder / prompt / predictor / CLI tests.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as torch from '../../src/engine/index.ts';
import type { Tensor } from '../../src/engine/index.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SAM_FIXTURE_DIR = resolve(repoRoot, '..', 'shared', 'fixtures', 'sam');
export const TINY_SAM_PTH = join(SAM_FIXTURE_DIR, 'tiny_sam.pth');
export const TINY_SAM_CONFIG = join(SAM_FIXTURE_DIR, 'tiny_sam_config.json');

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

export const manifest: SamManifest = JSON.parse(readFileSync(join(SAM_FIXTURE_DIR, 'manifest.json'), 'utf8'));

/** The raw values of a fixture tensor and its shape. */
export function readRaw(name: string): { data: Float32Array | Int32Array | Uint8Array; shape: number[] } {
  const info = manifest.tensors[name];
  if (!info) throw new Error(`fixture tensor '${name}' is not in the manifest`);
  const buf = readFileSync(join(SAM_FIXTURE_DIR, info.file));
  const bytes = new Uint8Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const data =
    info.dtype === 'float32'
      ? new Float32Array(bytes.buffer)
      : info.dtype === 'int32'
        ? new Int32Array(bytes.buffer)
        : bytes;
  const n = info.shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`fixture ${info.file}: ${data.length} values, shape needs ${n}`);
  return { data, shape: info.shape };
}

/** A fixture tensor as an engine tensor (caller disposes). */
export function readTensor(name: string): Tensor {
  const { data, shape } = readRaw(name);
  return torch.fromTypedArray(data, shape);
}

/** Max |a - b| over two equally long arrays (throws on a length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
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
