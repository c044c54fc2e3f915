// Drives an optimiser's learning rates from a schedule, as torch.optim.lr_scheduler.LambdaLR: on
// creation every group's lr becomes initialLr * schedule(0); each step() advances one iteration.
import type { LrSchedule } from './schedules.ts';

/** What a scheduler needs from an optimiser (any Optimizer qualifies). */
export interface HasLrFactor {
  setLrFactor(factor: number): void;
}

export class LrScheduler {
  private iter: number;

  /** `startIter` resumes a run at that iteration (e.g. from a checkpoint's trainer state). */
  constructor(
    private readonly optimizer: HasLrFactor,
    private readonly schedule: LrSchedule,
    startIter = 0,
  ) {
    if (!Number.isInteger(startIter) || startIter < 0) {
      throw new Error(`LrScheduler: startIter must be an integer >= 0, got ${startIter}`);
    }
    this.iter = startIter;
    this.optimizer.setLrFactor(this.schedule(this.iter));
  }

  /** Call after optimizer.step(): moves to the next iteration's learning rate. */
  step(): void {
    this.iter += 1;
    this.optimizer.setLrFactor(this.schedule(this.iter));
  }

  /** The iteration whose learning rate is currently set. */
  get lastIter(): number {
    return this.iter;
  }

  /** The current factor (lr / initialLr). */
  get factor(): number {
    return this.schedule(this.iter);
  }
}
