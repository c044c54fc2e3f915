// Fixtures live beside the repository (../shared/fixtures), never at an absolute path.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function fixturePath(...parts: string[]): string {
  return path.resolve(repoRoot, '..', 'shared', 'fixtures', ...parts);
}
