// Backbone pretraining for CPU configs: the analogue of the ImageNet weights the paper's R50 starts from.
// A small CNN trained from scratch on the synthetic scenes learns masks but not which shape is which in a
// CPU budget (the class cross-entropy and L_cam stay at chance for thousands of iterations, in this
// engine and in PyTorch alike), so the student starts from a backbone trained here on image-level tags
// only (cheap labels) of scenes drawn on the fly from a separate seed stream, over all six shape classes.
// The CAM head (1x1 conv + GAP, Eq. 16-17) is the classifier, so the recipe is the student's own L_cam.
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import * as torch from '../engine/index.ts';
import type { Tensor } from '../engine/index.ts';
import { loadTrainingCheckpoint, saveSafetensors, saveTrainingCheckpoint } from '../engine/io/checkpoint.ts';
import { AdamW, LrScheduler, cosineSchedule } from '../engine/optim/index.ts';
import { generateScene, mix32, SHAPE_CLASSES, type ShapeClass } from '../data/synth/index.ts';
import { buildBackbone } from '../model/build.ts';
import type { Backbone } from '../model/backbone/types.ts';
import { parseModelConfig, MODEL_CONFIGS, type ModelConfig } from '../model/configs.ts';
import { CamHead } from '../model/heads/cam-head.ts';
import { normalizeImages } from '../model/normalize.ts';

export interface PretrainOptions {
  /** A shipped model config name whose backbone is pretrained (its inputSize is the scene size). */
  model: string;
  /** Where the backbone weights go (safetensors, keys as the backbone's own state dict). */
  out: string;
  /** Working folder for the resumable checkpoint. */
  workDir: string;
  iterations: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
  classes: readonly ShapeClass[];
  checkpointEvery: number;
  /** Held-out scenes for the final per-class AP. */
  evalScenes: number;
  resume?: boolean;
  progress?: boolean;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export const PRETRAIN_DEFAULTS = {
  model: 'cpu-small',
  iterations: 8000,
  batchSize: 32,
  lr: 2e-3,
  weightDecay: 0.05,
  seed: 7,
  classes: SHAPE_CLASSES,
  checkpointEvery: 250,
  evalScenes: 512,
} as const;

/** Scene streams: training scenes and held-out scenes never share an index. */
const TRAIN_STREAM = 0x7e7a1;
const EVAL_STREAM = 0x3e1a7;

/** Scenes [start, start + n) of a stream as a normalised batch [n, 3, S, S] and multi-hot tags [n, C]. */
export function sceneBatch(
  seed: number,
  stream: number,
  start: number,
  n: number,
  size: number,
  classes: readonly ShapeClass[],
): { images: Tensor; tags: Tensor } {
  const C = classes.length;
  const px = new Uint8Array(n * 3 * size * size);
  const tags = new Float32Array(n * C);
  for (let j = 0; j < n; j++) {
    const scene = generateScene(mix32(seed, stream), start + j, { size, classes });
    const plane = size * size;
    for (let c = 0; c < 3; c++) {
      const off = (j * 3 + c) * plane;
      for (let k = 0; k < plane; k++) px[off + k] = scene.image[k * 3 + c];
    }
    for (const inst of scene.instances) tags[j * C + inst.classId] = 1;
  }
  return torch.tidy(() => ({
    images: normalizeImages(torch.fromTypedArray(px, [n, 3, size, size])),
    tags: torch.fromTypedArray(tags, [n, C]),
  }));
}

/** Average precision of one class's scores against 0/1 labels (the area under the precision-recall steps). */
export function averagePrecision(scores: number[], labels: number[]): number {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b] - scores[a]);
  const positives = labels.reduce((s, l) => s + l, 0);
  if (positives === 0) return NaN;
  let tp = 0;
  let ap = 0;
  order.forEach((i, rank) => {
    if (labels[i] === 1) {
      tp++;
      ap += tp / (rank + 1);
    }
  });
  return ap / positives;
}

function modelConfigOf(name: string): ModelConfig {
  const cfg = MODEL_CONFIGS[name];
  if (!cfg)
    throw new Error(
      `pretrain: unknown model config "${name}" (known: ${Object.keys(MODEL_CONFIGS).join(', ')})`,
    );
  return parseModelConfig(cfg, `model config ${name}`);
}

/** Per-class AP and mean BCE of the classifier on held-out scenes. */
export function evaluateClassifier(
  backbone: Backbone,
  head: CamHead,
  level: 'res3' | 'res4' | 'res5',
  o: Pick<PretrainOptions, 'seed' | 'classes' | 'evalScenes'> & { size: number },
): { meanAp: number; perClass: Record<string, number>; bce: number } {
  const C = o.classes.length;
  const scores: number[][] = Array.from({ length: C }, () => []);
  const labels: number[][] = Array.from({ length: C }, () => []);
  let bce = 0;
  backbone.eval();
  const chunk = 64;
  for (let start = 0; start < o.evalScenes; start += chunk) {
    const n = Math.min(chunk, o.evalScenes - start);
    const b = sceneBatch(o.seed, EVAL_STREAM, start, n, o.size, o.classes);
    torch.noGrad(() =>
      torch.tidy(() => {
        const logits = head.forward(backbone.forward(b.images)[level]).camLogits;
        bce += torch.binaryCrossEntropyWithLogits(logits, b.tags).item() * n;
        const s = logits.toFloat32Array();
        const t = b.tags.toFloat32Array();
        for (let j = 0; j < n; j++)
          for (let c = 0; c < C; c++) {
            scores[c].push(s[j * C + c]);
            labels[c].push(t[j * C + c]);
          }
      }),
    );
    torch.dispose([b.images, b.tags]);
  }
  backbone.train();
  const perClass = Object.fromEntries(
    o.classes.map((name, c) => [name, averagePrecision(scores[c], labels[c])]),
  );
  const finite = Object.values(perClass).filter(Number.isFinite);
  return { meanAp: finite.reduce((s, v) => s + v, 0) / finite.length, perClass, bce: bce / o.evalScenes };
}

export interface PretrainResult {
  iterations: number;
  interrupted: boolean;
  losses: number[];
  eval: ReturnType<typeof evaluateClassifier> | null;
  seconds: number;
}

export async function pretrainBackbone(o: PretrainOptions): Promise<PretrainResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const mc = modelConfigOf(o.model);
  const size = mc.inputSize;
  const level = mc.camLevel;
  torch.manualSeed(o.seed);
  const backbone = buildBackbone(mc.backbone);
  const head = new CamHead(backbone.outputShapes[level].channels, o.classes.length);
  const params = [...backbone.parameters(), ...head.parameters()].filter((p) => p.requiresGrad);
  const named: [string, Tensor][] = [
    ...backbone.namedParameters().map(([k, p]): [string, Tensor] => [`backbone.${k}`, p]),
    ...head.namedParameters().map(([k, p]): [string, Tensor] => [`head.${k}`, p]),
  ];
  const opt = new AdamW([{ params, lr: o.lr }], { lr: o.lr, weightDecay: o.weightDecay });
  await mkdir(o.workDir, { recursive: true });
  const ckpt = path.join(o.workDir, 'pretrain-checkpoint.safetensors');
  let start = 0;
  if (o.resume) {
    const ck = await loadTrainingCheckpoint(ckpt).catch((e: Error) => {
      throw new Error(`--resume: cannot read ${ckpt}: ${e.message}`);
    });
    const state = ck.train as { iteration: number; model: string; classes: string[] };
    if (state.model !== o.model || state.classes.join(',') !== o.classes.join(',')) {
      throw new Error(
        `${ckpt}: was made for model ${state.model} / classes ${state.classes.join(',')}; start over without --resume`,
      );
    }
    const pick = (prefix: string): Record<string, Tensor> =>
      Object.fromEntries(
        Object.entries(ck.model)
          .filter(([k]) => k.startsWith(prefix))
          .map(([k, v]) => [k.slice(prefix.length), v]),
      );
    backbone.loadStateDict(pick('backbone.'));
    head.loadStateDict(pick('head.'));
    if (ck.optim) opt.loadStateDict(ck.optim, named);
    torch.dispose([ck.model, ck.optim?.slots]);
    start = state.iteration;
  }
  const sched = new LrScheduler(
    opt,
    cosineSchedule({ maxIters: o.iterations, warmupIters: 100, warmupFactor: 0.01 }),
    start,
  );
  const save = async (iteration: number): Promise<void> => {
    const model: Record<string, Tensor> = {
      ...Object.fromEntries(Object.entries(backbone.stateDict()).map(([k, v]) => [`backbone.${k}`, v])),
      ...Object.fromEntries(Object.entries(head.stateDict()).map(([k, v]) => [`head.${k}`, v])),
    };
    await saveTrainingCheckpoint(ckpt, {
      model,
      optim: opt.stateDict(named),
      train: { iteration, model: o.model, classes: [...o.classes] },
    });
  };

  const bar =
    o.progress === false
      ? null
      : new cliProgress.SingleBar({
          format: 'pretrain [{bar}] {value}/{total} | loss {loss} | {rate} it/s | ETA {eta_formatted}',
          hideCursor: true,
        });
  bar?.start(o.iterations, start, { loss: '-', rate: '-' });
  backbone.train();
  const t0 = performance.now();
  const losses: number[] = [];
  let it = start;
  for (; it < o.iterations; it++) {
    torch.manualSeed(mix32(o.seed, it));
    const b = sceneBatch(o.seed, TRAIN_STREAM, it * o.batchSize, o.batchSize, size, o.classes);
    const loss = torch.tidy(() =>
      torch.binaryCrossEntropyWithLogits(head.forward(backbone.forward(b.images)[level]).camLogits, b.tags),
    );
    loss.backward();
    opt.step();
    opt.zeroGrad();
    sched.step();
    const v = loss.item();
    torch.dispose([loss, b.images, b.tags]);
    if (!Number.isFinite(v)) throw new Error(`pretrain: iteration ${it}: the loss is ${v}`);
    losses.push(v);
    const recent = losses.slice(-50);
    bar?.update(it + 1, {
      loss: (recent.reduce((s, x) => s + x, 0) / recent.length).toFixed(4),
      rate: ((it + 1 - start) / ((performance.now() - t0) / 1000)).toFixed(2),
    });
    // Without a terminal the bar draws nothing: a line per 100 iterations keeps logs readable.
    if (bar && !process.stderr.isTTY && (it + 1) % 100 === 0) {
      log(
        `pretrain ${it + 1}/${o.iterations} loss ${(recent.reduce((s, x) => s + x, 0) / recent.length).toFixed(4)}`,
      );
    }
    if (o.checkpointEvery > 0 && (it + 1) % o.checkpointEvery === 0) await save(it + 1);
    await new Promise((r) => setImmediate(r));
    if (o.signal?.aborted) {
      it++;
      break;
    }
  }
  bar?.stop();
  await save(it);
  const seconds = (performance.now() - t0) / 1000;
  if (it < o.iterations) {
    log(`pretrain: stopped at iteration ${it}/${o.iterations}; continue with --resume`);
    return { iterations: it, interrupted: true, losses, eval: null, seconds };
  }
  const ev = evaluateClassifier(backbone, head, level, {
    seed: o.seed,
    classes: o.classes,
    evalScenes: o.evalScenes,
    size,
  });
  await mkdir(path.dirname(path.resolve(o.out)), { recursive: true });
  const tmp = `${o.out}.tmp-${process.pid}`;
  await saveSafetensors(tmp, backbone.stateDict(), {
    format: 'pt',
    what: `wish pretrain: ${o.model} backbone, image-level tags of synthetic scenes`,
    model: o.model,
    classes: o.classes.join(','),
    iterations: String(o.iterations),
    batchSize: String(o.batchSize),
    seed: String(o.seed),
    heldOutMeanAp: ev.meanAp.toFixed(4),
  });
  await rename(tmp, o.out).catch(async (e: Error) => {
    await rm(tmp, { force: true });
    throw e;
  });
  return { iterations: it, interrupted: false, losses, eval: ev, seconds };
}
