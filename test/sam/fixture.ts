// Locates and reads the SAM parity fixture (../shared/fixtures/sam relative to the repo root).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SAM_FIXTURE = join(repoRoot, '..', 'shared', 'fixtures', 'sam');
export const hasSamFixture = existsSync(join(SAM_FIXTURE, 'manifest.json'));

interface TensorEntry {
  file: string;
  dtype: 'float32' | 'int32' | 'uint8';
  shape: number[];
}
export interface SamManifest {
  config: Record<string, unknown>;
  images: Record<string, { original_hw: [number, number]; input_hw: [number, number]; png: string }>;
  tensors: Record<string, TensorEntry>;
  cases: {
    image: string;
    name: string;
    multimask_output: boolean;
    point_coords: number[][] | null;
    box: number[] | null;
    tensors: Record<string, string>;
  }[];
}

let manifest: SamManifest | undefined;
export function samManifest(): SamManifest {
  manifest ??= JSON.parse(readFileSync(join(SAM_FIXTURE, 'manifest.json'), 'utf8')) as SamManifest;
  return manifest;
}

/** A fixture tensor by manifest name, as its typed array plus shape. */
export function readFixture(name: string): { data: Float32Array | Int32Array | Uint8Array; shape: number[] } {
  const e = samManifest().tensors[name];
  if (!e) throw new Error(`SAM fixture has no tensor '${name}'`);
  const buf = readFileSync(join(SAM_FIXTURE, e.file));
  const bytes = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data =
    e.dtype === 'float32'
      ? new Float32Array(bytes)
      : e.dtype === 'int32'
        ? new Int32Array(bytes)
        : new Uint8Array(bytes);
  return { data, shape: e.shape };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
