// One training iteration, shared by the trainer and bench/method.ts --train:
//   batch -> forward -> (tag images: CAM peaks -> SAM points, Eq. 18; none during the CAM-only warm-up)
//   -> Eq. 20 loss (read once) -> backward -> clip -> AdamW step.
// Every random draw depends on (seed, it) only, so a resumed run repeats an uninterrupted one on CPU.
import { performance } from 'node:perf_hooks';
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import type { AdamW } from '../engine/optim/index.ts';
import { mix32 } from '../data/synth/rng.ts';
import { lossPhase, wishLoss } from '../method/losses.ts';
import { DenseMaskTargets } from '../method/sam-targets.ts';
import type { PointPromptTeacher } from '../method/tags-to-points.ts';
import type { ImageTargets } from '../method/types.ts';
import type { WishModel } from '../model/wish-model.ts';
import { tagTargets, type BatchSource } from './batches.ts';
import type { RunConfig } from './config.ts';
import type { StepTimes } from './metrics.ts';
import type { PromptLatentSource } from './teacher.ts';

export interface StepContext {
  config: RunConfig;
  model: WishModel;
  opt: AdamW;
  /** The parameters whose gradients are clipped together (config.gradClip). */
  params: Tensor[];
  data: BatchSource;
  latents: PromptLatentSource;
  teacher?: PointPromptTeacher;
  /** SAM's input side L (the teacher's geometry for tag-image targets). */
  samImgSize: number;
  /**
   * Wait for the device's queued work at each phase's end, so a GPU's asynchronous work is timed in the
   * phase that queued it rather than where the CPU next waits (benchmarks; costs the overlap).
   */
  syncPhases?: boolean;
}

export interface StepResult {
  total: number;
  terms: Record<string, number>;
  /** Wall milliseconds per phase. */
  times: StepTimes;
  /** Whether the segmentation losses ran (false in the CAM-only warm-up). */
  seg: boolean;
  /** Point labels the tag images got from SAM, and how many tag images got at least one. */
  tagPoints: number;
  tagImagesWithPoints: number;
}

/** `onLap(phase)` is called as each phase ends (e.g. to read CPU time); phases run in StepTimes' order. */
export async function trainStep(
  ctx: StepContext,
  it: number,
  onLap?: (phase: keyof StepTimes) => void,
): Promise<StepResult> {
  const c = ctx.config;
  torch.manualSeed(mix32(c.seed, it));
  // The matcher's and the loss's point draws, on the training device (a GPU draws its own stream).
  const generator = new torch.Generator(mix32(c.seed ^ 0x10557, it), c.device);
  const phase = lossPhase(it, c.loss);
  const times: StepTimes = { data: 0, sam: 0, forward: 0, matchLoss: 0, backward: 0, optimizer: 0 };
  let tick = performance.now();
  const sync = ctx.syncPhases === true && c.device !== 'cpu';
  const lap = (k: keyof StepTimes): void => {
    if (sync) torch.cuda.synchronize();
    const now = performance.now();
    times[k] += now - tick;
    tick = now;
    onLap?.(k);
  };

  const batch = await ctx.data.batch(it);
  lap('data');
  ctx.model.train();
  const out = torch.tidy(() => ctx.model.forward(batch.images));
  lap('forward');

  const owned: Tensor[] = [];
  let tagPoints = 0;
  let tagImagesWithPoints = 0;
  const targets: ImageTargets[] = [];
  for (let b = 0; b < batch.samples.length; b++) {
    const t = batch.targets[b];
    if (t) {
      targets.push(t);
      continue;
    }
    const s = batch.samples[b];
    if (!phase.seg) {
      const none = torch.zeros([0, 1, 1], { device: c.device });
      owned.push(none);
      targets.push({ classes: [], masks: new DenseMaskTargets(none), prompts: null, imageClasses: s.tags });
      continue;
    }
    const cams = torch.noGrad(() => out.camMaps.select(0, b).detach());
    owned.push(cams);
    const r = await tagTargets(s, cams, ctx.teacher!, ctx.latents, ctx.samImgSize, c.tagsToPoints);
    owned.push(...r.owned);
    tagPoints += r.points;
    if (r.points > 0) tagImagesWithPoints++;
    targets.push(r.targets);
  }
  lap('sam');

  const loss = wishLoss(out, targets, c.loss, { iteration: it, generator });
  const total = loss.total.item();
  const values = loss.termValues.toFloat32Array(); // one copy for every term
  const terms = Object.fromEntries(loss.termNames.map((k, i) => [k, values[i]]));
  lap('matchLoss');
  const release = (): void => {
    torch.dispose([loss.total, loss.terms, loss.termValues, out, owned]);
    batch.dispose();
  };
  if (!Number.isFinite(total)) {
    release();
    throw new Error(`iteration ${it}: the loss is ${total}`);
  }
  loss.total.backward();
  lap('backward');
  if (c.gradClip > 0) torch.clipGradNorm(ctx.params, c.gradClip).dispose();
  ctx.opt.step();
  ctx.opt.zeroGrad();
  lap('optimizer');
  release();
  return { total, terms, times, seg: phase.seg, tagPoints, tagImagesWithPoints };
}
