// labels.jsonl: one JSON line per image with point/box labels. Appended one image at a time while a run
// goes (so an interruption loses at most the line being written: a torn last line is dropped on resume),
// then rewritten sorted by image id, atomically, when the run completes.
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import type { PreparedLabel } from './types.ts';

export const LABELS_FILE = 'labels.jsonl';

export interface LabelsLine {
  image_id: number;
  labels: PreparedLabel[];
}

/** Every complete line of a labels file (a missing file is empty); a torn last line is left out. */
export async function readLabelsFile(
  path: string,
  opts: { strict?: boolean } = {},
): Promise<{ lines: LabelsLine[]; torn: boolean }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], torn: false };
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const raw = text.split('\n');
  const last = raw.length - 1;
  const lines: LabelsLine[] = [];
  let torn = false;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i].trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(raw[i]);
    } catch (e) {
      // Only the final line can be torn by an interruption; a bad line elsewhere is corruption.
      if (i === last && !opts.strict) {
        torn = true;
        continue;
      }
      throw new Error(`${path}: line ${i + 1} is not valid JSON: ${(e as Error).message}`);
    }
    const rec = v as Partial<LabelsLine>;
    if (typeof rec.image_id !== 'number' || !Array.isArray(rec.labels))
      throw new Error(`${path}: line ${i + 1} has no numeric "image_id" and "labels" list`);
    lines.push(rec as LabelsLine);
  }
  return { lines, torn };
}

export async function appendLabelsLine(path: string, line: LabelsLine): Promise<void> {
  await appendFile(path, JSON.stringify(line) + '\n');
}

/** Rewrites the file with exactly these lines (sorted by image id), through a temp file and rename. */
export async function writeLabelsFile(path: string, lines: LabelsLine[]): Promise<void> {
  const sorted = [...lines].sort((a, b) => a.image_id - b.image_id);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, sorted.map((l) => JSON.stringify(l)).join('\n') + (sorted.length ? '\n' : ''));
  await rename(tmp, path);
}
