// Worker-thread entry of augment-pool.ts: runs augmentation jobs and posts the warped samples back (the
// image buffer is transferred, not copied). Errors go back as messages with the job's id.
import { parentPort } from 'node:worker_threads';
import type { RgbImage } from '../data/image/types.ts';
import { runAugmentJob, type AugmentJob } from './augment-job.ts';

const cache = new Map<string, RgbImage>();
parentPort!.on('message', (msg: { id: number; job: AugmentJob }) => {
  runAugmentJob(msg.job, cache).then(
    (sample) => parentPort!.postMessage({ id: msg.id, sample }, [sample.image.data.buffer as ArrayBuffer]),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, error: (err as Error).message ?? String(err) }),
  );
});
