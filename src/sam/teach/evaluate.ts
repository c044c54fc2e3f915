// Mean IoU of a SAM against the synthetic scenes' true masks, through the predictor path the rest of the
// project uses (setImage, batched decode, postprocessing to the original size, threshold at 0). Every
// instance of every held-out scene gets one point prompt (uniform inside its mask, seeded) and one box
// prompt (its tight box, no noise). Point prompts are scored two ways: the multimask output with the
// highest predicted IoU (what a user of SAM picks) and the best of the three against the truth (oracle,
// what WISH's min-over-3 matching can reach); box prompts use the single-mask output.
import * as torch from '../../engine/index.ts';
import { generateScene, type SynthOptions } from '../../data/synth/index.ts';
import { mix32, Rng } from '../../data/synth/rng.ts';
import { SamPredictor } from '../predictor.ts';
import type { Sam } from '../sam.ts';
import { maskBox, samplePoints } from './prompts.ts';

export interface TeacherEval {
  scenes: number;
  instances: number;
  size: number;
  /** Point prompt, the mask with the highest predicted IoU. */
  pointIou: number;
  /** Point prompt, the best of the three masks against the truth. */
  pointOracleIou: number;
  /** Box prompt, single-mask output. */
  boxIou: number;
  /** Box prompt, multimask output, highest predicted IoU (for reference). */
  boxMultimaskIou: number;
}

/** IoU of bool masks [k, H, W] with a 0/1 mask of H*W -> k values. */
function iousWith(masks: Uint8Array, k: number, truth: Uint8Array): number[] {
  const n = truth.length;
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    let inter = 0;
    let union = 0;
    for (let i = 0; i < n; i++) {
      const a = masks[j * n + i] !== 0;
      const b = truth[i] !== 0;
      if (a && b) inter++;
      if (a || b) union++;
    }
    out.push(union === 0 ? 0 : inter / union);
  }
  return out;
}

export function evaluateTeacher(
  sam: Sam,
  opts: {
    seed: number;
    scenes: number;
    size: number;
    synth?: Partial<SynthOptions>;
    onScene?: (i: number) => void;
  },
): TeacherEval {
  const predictor = new SamPredictor(sam);
  let n = 0;
  const sum = { point: 0, oracle: 0, box: 0, boxMulti: 0 };
  try {
    for (let s = 0; s < opts.scenes; s++) {
      const scene = generateScene(opts.seed, s, { ...opts.synth, size: opts.size });
      predictor.setRgbImage({ data: scene.image, width: scene.width, height: scene.height });
      const rng = new Rng(mix32(opts.seed, s));
      const points = scene.instances.map((inst) => samplePoints(inst.mask, scene.width, 1, rng)[0]);
      const boxes = scene.instances.map((inst) => maskBox(inst.mask, scene.width));
      const I = scene.instances.length;
      torch.tidy(() => {
        const byPoint = predictor.predictTorch({
          pointCoords: predictor.transformCoords(points).unsqueeze(1),
          pointLabels: torch.ones([I, 1], { dtype: 'int64' }),
          multimaskOutput: true,
        });
        const byBox = predictor.predictTorch({
          boxes: predictor.transformBoxes(boxes),
          multimaskOutput: false,
        });
        const byBoxMulti = predictor.predictTorch({
          boxes: predictor.transformBoxes(boxes),
          multimaskOutput: true,
        });
        const pm = byPoint.masks!.to({ dtype: 'uint8' }).toTypedArray() as Uint8Array; // [I, 3, H, W]
        const bm = byBox.masks!.to({ dtype: 'uint8' }).toTypedArray() as Uint8Array; // [I, 1, H, W]
        const bmm = byBoxMulti.masks!.to({ dtype: 'uint8' }).toTypedArray() as Uint8Array;
        const pIou = byPoint.iouPredictions.toFloat32Array();
        const bIou = byBoxMulti.iouPredictions.toFloat32Array();
        const hw = scene.width * scene.height;
        scene.instances.forEach((inst, i) => {
          const tp = iousWith(pm.subarray(i * 3 * hw, (i + 1) * 3 * hw), 3, inst.mask);
          const pick = argmax3(pIou, i);
          sum.point += tp[pick];
          sum.oracle += Math.max(...tp);
          sum.box += iousWith(bm.subarray(i * hw, (i + 1) * hw), 1, inst.mask)[0];
          const tb = iousWith(bmm.subarray(i * 3 * hw, (i + 1) * 3 * hw), 3, inst.mask);
          sum.boxMulti += tb[argmax3(bIou, i)];
          n++;
        });
      });
      opts.onScene?.(s + 1);
    }
  } finally {
    predictor.dispose();
  }
  const mean = (v: number): number => (n === 0 ? 0 : v / n);
  return {
    scenes: opts.scenes,
    instances: n,
    size: opts.size,
    pointIou: mean(sum.point),
    pointOracleIou: mean(sum.oracle),
    boxIou: mean(sum.box),
    boxMultimaskIou: mean(sum.boxMulti),
  };
}

function argmax3(v: Float32Array, i: number): number {
  let best = 0;
  for (let j = 1; j < 3; j++) if (v[i * 3 + j] > v[i * 3 + best]) best = j;
  return best;
}
