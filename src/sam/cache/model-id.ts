// The identity of a SAM model for cache entries: a hash of the checkpoint file's bytes and of the config,
// so changing either (new weights, another eps or pixel mean) makes old embeddings stale.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { samConfigToJson, type SamConfig } from '../config.ts';

/** sha256 (hex) of a file, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch (e) {
    throw new Error(`cannot hash ${path}: ${(e as Error).message}`);
  }
  return h.digest('hex');
}

/** Model id from the checkpoint's sha256 and the config (first 32 hex chars of a sha256). */
export function modelIdFrom(checkpointSha256: string, config: SamConfig): string {
  const h = createHash('sha256');
  h.update(`sam-checkpoint:${checkpointSha256}\n`);
  h.update(`sam-config:${JSON.stringify(samConfigToJson(config))}\n`);
  return h.digest('hex').slice(0, 32);
}

export async function samModelId(checkpointPath: string, config: SamConfig): Promise<string> {
  return modelIdFrom(await fileSha256(checkpointPath), config);
}
