// Reads a `wish prepare` folder back (layout: types.ts): the manifest, the weak-label dataset it was made
// from (re-validated, and checked against the manifest's sha256), and labels.jsonl grouped by image.
import { join } from 'node:path';
import { loadWeakDataset } from '../../data/weak/load.ts';
import { fileSha256 } from '../../sam/cache/model-id.ts';
import { LABELS_FILE, readLabelsFile } from './labels-file.ts';
import { EMBEDDINGS_DIR, MANIFEST_FILE, readManifest } from './prepare.ts';
import type { PreparedDataset, PreparedLabel } from './types.ts';

export interface LoadPreparedOptions {
  /** Accept a folder whose run did not finish (default false: an error says to rerun prepare). */
  allowIncomplete?: boolean;
}

export async function loadPrepared(dir: string, opts: LoadPreparedOptions = {}): Promise<PreparedDataset> {
  const manifestPath = join(dir, MANIFEST_FILE);
  const manifest = await readManifest(manifestPath);
  if (!manifest.complete && !opts.allowIncomplete)
    throw new Error(
      `${manifestPath}: the prepare run did not complete; rerun \`wish prepare\` with the same arguments to finish it`,
    );
  const sha = await fileSha256(manifest.data);
  if (sha !== manifest.dataSha256)
    throw new Error(
      `${manifestPath}: ${manifest.data} changed since it was prepared (sha256 differs); prepare it again`,
    );
  const weak = await loadWeakDataset(manifest.data);
  const labelsPath = join(dir, LABELS_FILE);
  const { lines } = await readLabelsFile(labelsPath, { strict: manifest.complete });
  const ids = new Map(weak.images.map((im) => [im.id, im]));
  const labels = new Map<number, PreparedLabel[]>();
  lines.forEach((l, i) => {
    const im = ids.get(l.image_id);
    if (!im)
      throw new Error(`${labelsPath}: line ${i + 1}: image id ${l.image_id} is not in ${manifest.data}`);
    if (labels.has(l.image_id))
      throw new Error(`${labelsPath}: line ${i + 1}: image id ${l.image_id} appears twice`);
    for (const [j, lab] of l.labels.entries()) {
      const where = `${labelsPath}: image id ${l.image_id}, label ${j} (annotation ${lab.annotationId})`;
      if (lab.masks?.length !== 3 || lab.iou?.length !== 3 || lab.stability?.length !== 3)
        throw new Error(`${where}: needs 3 masks, 3 IoUs and 3 stability scores`);
      for (const m of lab.masks)
        if (m.size[0] !== im.height || m.size[1] !== im.width)
          throw new Error(
            `${where}: mask size ${m.size.join('x')} is not the image's ${im.height}x${im.width}`,
          );
    }
    labels.set(l.image_id, l.labels);
  });
  return { dir, manifest, weak, labels, embeddingsDir: join(dir, EMBEDDINGS_DIR) };
}
