// Counts the tensors made from host data while a function runs (the addon's fromBytes: on a GPU each is an
// upload that waits for the queued work), to check that a model's forward builds its constants only once.
import { N } from '../../src/engine/native.ts';

export function countHostUploads<T>(fn: () => T): { result: T; uploads: number } {
  const original = N.fromBytes;
  let uploads = 0;
  N.fromBytes = (...args: Parameters<typeof original>) => {
    uploads++;
    return original(...args);
  };
  try {
    return { result: fn(), uploads };
  } finally {
    N.fromBytes = original;
  }
}
