// Image paths in dataset JSON: a relative file_name is resolved against the JSON file's folder
// (the convention of the converters, `wish synth` and `wish weaken`), so a derived JSON written
// elsewhere must rebase its file_names to keep pointing at the same images.
import { dirname, isAbsolute, relative, resolve } from 'node:path';

/** Absolute path of an image named in the JSON file `jsonFile`. */
export function resolveImagePath(jsonFile: string, fileName: string): string {
  return isAbsolute(fileName) ? fileName : resolve(dirname(resolve(jsonFile)), fileName);
}

/** file_name as it must be written in `toJson` to name the image `fromJson` names (absolute names stay). */
export function rebaseFileName(fromJson: string, toJson: string, fileName: string): string {
  if (isAbsolute(fileName)) return fileName;
  const from = dirname(resolve(fromJson));
  const to = dirname(resolve(toJson));
  if (from === to) return fileName;
  return relative(to, resolve(from, fileName)).split('\\').join('/');
}
