// The images to embed: every image file under a folder, or the images of a COCO / weak-label JSON.
import { readdir } from 'node:fs/promises';
import { extname, isAbsolute, join, normalize, relative } from 'node:path';
import { readCocoShapedJson } from '../../data/coco/read-json.ts';
import { resolveImagePath } from '../../data/coco/paths.ts';
import type { CacheImage } from './embed-cache.ts';

export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.tif',
  '.tiff',
  '.bmp',
  '.gif',
  '.avif',
]);

/** Image files under `dir` (recursively, sorted), named by their path relative to `dir`. */
export async function listImageFolder(dir: string): Promise<CacheImage[]> {
  let entries;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot list images in ${dir}: ${(e as Error).message}`);
  }
  const out: CacheImage[] = [];
  for (const e of entries) {
    if (!e.isFile() || !IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) continue;
    // `parentPath` (Node >= 20.12) or `path` (older 20.x) is the folder the entry was found in.
    const parent = (e as { parentPath?: string }).parentPath ?? (e as { path?: string }).path ?? dir;
    const path = join(parent, e.name);
    out.push({ name: relative(dir, path).split('\\').join('/'), path });
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/**
 * The images of a COCO-shaped JSON (instances or weak labels): each `images[i].file_name` resolved against
 * the JSON's folder (the project's convention). Entries are named by the relative file_name, or
 * `image-<id>/<basename>` when file_name is absolute or leaves the folder.
 */
export async function listDatasetImages(jsonFile: string): Promise<CacheImage[]> {
  const out: CacheImage[] = [];
  const problems: string[] = [];
  const { present } = await readCocoShapedJson(
    jsonFile,
    ['images', 'annotations', 'categories'],
    (list, index, raw) => {
      if (list !== 'images') return;
      const rec = raw as { id?: unknown; file_name?: unknown };
      if (
        rec === null ||
        typeof rec !== 'object' ||
        typeof rec.file_name !== 'string' ||
        rec.file_name === ''
      ) {
        problems.push(`images[${index}]: no "file_name" string`);
        return;
      }
      const fileName = rec.file_name;
      const n = normalize(fileName).split('\\').join('/');
      const inside = !isAbsolute(fileName) && !n.split('/').includes('..');
      const base = n.split('/').pop()!;
      out.push({
        name: inside ? n : `image-${String(rec.id ?? index)}/${base}`,
        path: resolveImagePath(jsonFile, fileName),
      });
    },
  );
  if (!present.has('images')) problems.push('no "images" list');
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    throw new Error(`${jsonFile}: cannot list the images to embed:\n  ${shown.join('\n  ')}${more}`);
  }
  return out;
}
