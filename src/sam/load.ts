// Loads SAM weights: official `.pth` checkpoints (torch.save'd state dicts, read by the engine's restricted
// unpickler) or safetensors files with official or Hugging Face (`facebook/sam-vit-*`) key names. The
// config is inferred from the shapes plus an optional config JSON; the state dict is then checked against
// the exact key set that config implies, with one error naming every missing, unexpected and mis-shaped key.
import { open } from 'node:fs/promises';
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { loadPth, loadSafetensors } from '../engine/io/checkpoint.ts';
import { inferSamConfigDetailed, readSamConfigFile, type SamConfig, type SamPresetName } from './config.ts';
import { expectedSamShapes, hfIouHeadDepth, hfKeyToOfficial, isHfSamKeys } from './state-dict-keys.ts';

export interface LoadSamOptions {
  /** A config JSON file (the fixture's format) or its parsed values, for what the shapes do not say. */
  config?: string | Partial<SamConfig>;
  /** Where the tensors go (default 'cpu'). */
  device?: string;
}

export interface LoadedSam {
  /** Official key names -> float32 tensors (owned by the caller). */
  stateDict: Record<string, Tensor>;
  config: SamConfig;
  /** The preset that filled what neither the shapes nor the config JSON gave. */
  preset: SamPresetName;
  format: 'pth' | 'safetensors';
  keyNames: 'official' | 'huggingface';
}

async function sniffFormat(path: string): Promise<'pth' | 'safetensors'> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot open SAM checkpoint ${path}: ${code === 'ENOENT' ? 'no such file' : String(e)}`);
  }
  try {
    const head = Buffer.alloc(9);
    const { bytesRead } = await fh.read(head, 0, 9, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'pth'; // zip local header "PK\3\4"
    // safetensors: u64 header length, then a JSON object
    if (bytesRead === 9 && head[8] === 0x7b) return 'safetensors';
    throw new Error(
      `${path}: neither a torch.save zip archive (.pth) nor a safetensors file ` +
        `(first bytes ${head.subarray(0, bytesRead).toString('hex')}); a truncated download?`,
    );
  } finally {
    await fh.close();
  }
}

/** HF names -> official ones; the tied positional matrix may be stored under two names. */
function renameHf(raw: Record<string, Tensor>, path: string): Record<string, Tensor> {
  const depth = hfIouHeadDepth(Object.keys(raw));
  const out: Record<string, Tensor> = {};
  const origin: Record<string, string> = {};
  for (const [k, t] of Object.entries(raw)) {
    const name = hfKeyToOfficial(k, depth);
    const prev = out[name];
    if (prev !== undefined) {
      const same =
        prev.shape.join(',') === t.shape.join(',') && torch.tidy(() => torch.allclose(prev, t, 0, 0));
      if (!same)
        throw new Error(
          `${path}: keys '${origin[name]}' and '${k}' both map to '${name}' but hold different values`,
        );
      t.dispose();
      continue;
    }
    out[name] = t;
    origin[name] = k;
  }
  return out;
}

/** Compares a state dict with the keys and shapes a config implies; throws one error listing all problems. */
export function checkSamStateDict(
  shapes: Record<string, readonly number[]>,
  cfg: SamConfig,
  source: string,
): void {
  const want = expectedSamShapes(cfg);
  const missing = [...want.keys()].filter((k) => !(k in shapes));
  const unexpected = Object.keys(shapes).filter((k) => !want.has(k));
  const misShaped: string[] = [];
  for (const [k, s] of want) {
    const got = shapes[k];
    if (got && (got.length !== s.length || got.some((d, i) => d !== s[i])))
      misShaped.push(`${k}: file [${got.join(', ')}], model [${s.join(', ')}]`);
  }
  const parts: string[] = [];
  if (missing.length) parts.push(`missing keys (${missing.length}):\n    ${missing.join('\n    ')}`);
  if (unexpected.length)
    parts.push(`unexpected keys (${unexpected.length}):\n    ${unexpected.join('\n    ')}`);
  if (misShaped.length) parts.push(`mis-shaped keys (${misShaped.length}):\n    ${misShaped.join('\n    ')}`);
  if (parts.length > 0)
    throw new Error(`${source}: the weights do not fit the SAM config:\n  ${parts.join('\n  ')}`);
}

/**
 * Reads a SAM checkpoint and returns its state dict under official key names with the config it implies.
 * Throws (freeing every tensor read) on unreadable files, config contradictions and key/shape problems.
 */
export async function loadSamStateDict(path: string, opts: LoadSamOptions = {}): Promise<LoadedSam> {
  const overrides =
    typeof opts.config === 'string' ? await readSamConfigFile(opts.config) : (opts.config ?? {});
  const format = await sniffFormat(path);
  const load = { device: opts.device, floatDtype: 'float32' as const };
  let sd: Record<string, Tensor>;
  try {
    sd = format === 'pth' ? await loadPth(path, load) : await loadSafetensors(path, load);
  } catch (e) {
    throw new Error(`cannot read SAM checkpoint ${path}: ${(e as Error).message}`);
  }
  try {
    // DataParallel-wrapped saves prefix every key with "module." (the HF converter strips it too).
    const keys = Object.keys(sd);
    if (keys.length > 0 && keys.every((k) => k.startsWith('module.')))
      sd = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k.slice('module.'.length), t]));
    const hf = isHfSamKeys(Object.keys(sd));
    if (hf) sd = renameHf(sd, path);
    const shapes = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.shape]));
    const { config, preset } = inferSamConfigDetailed(shapes, overrides, path);
    checkSamStateDict(shapes, config, path);
    return { stateDict: sd, config, preset, format, keyNames: hf ? 'huggingface' : 'official' };
  } catch (e) {
    torch.dispose(sd);
    throw e;
  }
}

/** Entries of a state dict under `prefix.`, with the prefix removed (e.g. 'image_encoder'). */
export function subStateDict(sd: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const p = `${prefix}.`;
  return Object.fromEntries(
    Object.entries(sd).flatMap(([k, t]) => (k.startsWith(p) ? [[k.slice(p.length), t]] : [])),
  );
}
