// Where a run's targets come from: a `wish prepare` folder with the real SAM teacher (prompt encoder for
// the latents, predictor + embedding cache for tag images), or the oracle (SAM faked from ground truth).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as torch from '../engine/index.ts';
import { loadWeakDataset } from '../data/weak/index.ts';
import type { BinaryMask } from '../data/mask/index.ts';
import { loadPrepared } from '../method/prepare/load.ts';
import type { PreparedDataset } from '../method/prepare/types.ts';
import type { PointPromptTeacher } from '../method/tags-to-points.ts';
import { buildPromptEncoder } from '../sam/build.ts';
import { loadSam } from '../sam/build.ts';
import { samPreset } from '../sam/config.ts';
import type { RunConfig } from './config.ts';
import { gtMasks, oraclePrepared, OracleTeacher, type GroundTruth } from './oracle.ts';
import { SamPointTeacher, SamPromptLatents, type PromptLatentSource } from './teacher.ts';

export interface RunData {
  prepared: PreparedDataset;
  latents: PromptLatentSource;
  teacher?: PointPromptTeacher;
  /** Which teacher supplies the targets, in words (for logs and reports). */
  teacherName: string;
}

export async function setupRunData(c: RunConfig): Promise<RunData> {
  if (c.data.prepared) {
    const prepared = await loadPrepared(c.data.prepared);
    // SAM runs where the student does: tag images decode their peaks on the training device.
    const sam = await loadSam(prepared.manifest.teacher.checkpoint, {
      config: prepared.manifest.teacher.config,
      device: c.device,
    });
    const sizes = new Map<string, [number, number]>(
      prepared.weak.images.map((im) => [im.file_name, [im.height, im.width]]),
    );
    return {
      prepared,
      latents: new SamPromptLatents(sam.promptEncoder, sam.imgSize),
      teacher: new SamPointTeacher(sam, prepared.embeddingsDir, sizes),
      teacherName: `SAM ${prepared.manifest.teacher.checkpoint}`,
    };
  }
  const o = c.data.oracle!;
  const weak = await loadWeakDataset(o.weak);
  let gt: GroundTruth;
  try {
    gt = JSON.parse(await readFile(o.groundTruth, 'utf8')) as GroundTruth;
  } catch (e) {
    throw new Error(`${o.groundTruth}: cannot read the ground truth: ${(e as Error).message}`);
  }
  const prepared = oraclePrepared(weak, gt, path.dirname(o.weak));
  const L = prepared.manifest.teacher.config.imgSize;
  // No SAM weights here: the prompt encoder is SAM's architecture with a fixed seeded random init, so the
  // latents keep SAM's structure (Fourier code of the coordinates + per-kind embeddings).
  torch.manualSeed(c.seed);
  const encoder = buildPromptEncoder({ ...samPreset('vit_b'), imgSize: L });
  if (c.device !== 'cpu') encoder.to(c.device);
  const masks = gtMasks(gt);
  const byFile = new Map<string, BinaryMask[]>();
  const byImage = new Map<number, BinaryMask[]>();
  for (const a of gt.annotations) {
    const list = byImage.get(a.image_id) ?? [];
    list.push(masks.get(a.id)!);
    byImage.set(a.image_id, list);
  }
  for (const im of weak.images) byFile.set(im.file_name, byImage.get(im.id) ?? []);
  return {
    prepared,
    latents: new SamPromptLatents(encoder, L),
    teacher: new OracleTeacher(byFile, L),
    teacherName: 'oracle (SAM faked from ground-truth masks: eroded / true / dilated; random prompt encoder)',
  };
}
