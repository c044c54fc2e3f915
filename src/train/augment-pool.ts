// Augmentation in worker threads, as a PyTorch DataLoader's workers: image decoding and warping are plain
// JS and would otherwise run between the GPU's steps on the trainer's thread. A job goes to the worker
// chosen by the caller's key (the image), so each image is decoded and cached by one worker only.
import { Worker } from 'node:worker_threads';
import type { AugmentJob, AugmentResult } from './augment-job.ts';

interface Pending {
  resolve: (r: AugmentResult) => void;
  reject: (e: Error) => void;
  worker: number;
}

export class AugmentPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  /** Jobs in flight per worker: a busy worker keeps the process alive (its answer is awaited), an idle one not. */
  private readonly busy: number[];
  private nextId = 0;
  private closed = false;
  private broken: Error | null = null;

  constructor(size: number) {
    if (!(Number.isInteger(size) && size > 0))
      throw new RangeError(`AugmentPool: size must be >= 1, got ${size}`);
    // The worker is TypeScript: a small bootstrap registers tsx's loader in it first, as bin/wish.js does
    // (Node 20 does not apply an --import in a worker's execArgv before its entry module).
    const boot =
      `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
      `.then((m) => { m.register(); return import(${JSON.stringify(new URL('./augment-worker.ts', import.meta.url).href)}); });`;
    this.busy = new Array<number>(size).fill(0);
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(boot, { eval: true });
      w.unref(); // an idle (or unclosed) pool does not keep the process alive
      w.on('message', (m: { id: number; sample?: AugmentResult; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (--this.busy[p.worker] === 0) w.unref();
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.sample!);
      });
      w.on('error', (e) => this.failAll(e));
      w.on('exit', (code) => {
        if (this.closed) return;
        this.broken = new Error(`an augmentation worker exited (code ${code})`);
        this.failAll(this.broken);
      });
      return w;
    });
  }

  get size(): number {
    return this.workers.length;
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new Error(`augmentation worker failed: ${e.message}`));
    this.pending.clear();
    this.busy.fill(0);
    for (const w of this.workers) w.unref();
  }

  /** Runs the job on worker key % size. */
  run(job: AugmentJob, key: number): Promise<AugmentResult> {
    if (this.closed) return Promise.reject(new Error('AugmentPool: closed'));
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    const worker = key % this.workers.length;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker });
      if (this.busy[worker]++ === 0) this.workers[worker].ref();
      this.workers[worker].postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
