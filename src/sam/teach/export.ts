// Ships the teacher: weights as safetensors with the official state-dict names (what loadSam reads, and
// the official SAM code would after a key-for-key copy) plus the SamConfig as a config JSON in the
// fixture's snake_case format for the sizes the shapes do not say (heads, pixel statistics, eps).
import { rename, writeFile } from 'node:fs/promises';
import { saveSafetensors } from '../../engine/io/checkpoint.ts';
import { samConfigToJson, type SamConfig } from '../config.ts';
import type { Sam } from '../sam.ts';

export async function exportTeacher(
  sam: Sam,
  config: SamConfig,
  weightsPath: string,
  configPath: string,
  info: Record<string, unknown> = {},
): Promise<void> {
  await saveSafetensors(weightsPath, sam.stateDict(), { format: 'pt', producer: 'wish teach' });
  const tmp = `${configPath}.tmp-${process.pid}`;
  await writeFile(
    tmp,
    JSON.stringify({ name: 'wish-teacher', ...info, config: samConfigToJson(config) }, null, 2) + '\n',
  );
  await rename(tmp, configPath);
}
