// `npm run bench:model`: the WISH model's speed on this machine.
//   cpu-small  forward + backward of a batch of 8 at 96 px (train mode; the loss is a fixed random
//              weighting of every output, so every head and every decoder stage is in the graph)
//   paper      forward of one 512 x 512 image (eval mode, no grad): R50 + deformable pixel decoder + 9 layers
// Median over the timed iterations after warm-up. The last stdout line is one JSON object.
// The JSON carries the 1-minute load average: on a shared 2-core machine under load, 2 intra-op threads
// can be an order of magnitude slower than 1 (threads wait on each other's stolen core); try --threads 1.
// Options: --iters N (cpu-small, default 10) --paper-iters N (default 3) --warmup N (default 2)
//          --only cpu-small,paper --threads N
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as torch from '../src/engine/index.ts';
import type { Tensor } from '../src/engine/index.ts';
import { buildModel } from '../src/model/build.ts';
import { cpuSmall, paper } from '../src/model/configs.ts';
import type { WishOutput } from '../src/model/wish-model.ts';

const { values: args } = parseArgs({
  options: {
    iters: { type: 'string', default: '10' },
    'paper-iters': { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string', default: 'cpu-small,paper' },
    threads: { type: 'string' },
  },
});
if (args.threads) torch.setNumThreads(Number(args.threads));
const only = new Set(args.only!.split(','));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function time(n: number, warmup: number, label: string, step: () => void): number[] {
  const out: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    step();
    const ms = performance.now() - t0;
    if (i >= warmup) out.push(ms);
    process.stderr.write(`${label} ${i < warmup ? 'warm-up' : 'iter'} ${i + 1}: ${ms.toFixed(0)} ms\n`);
  }
  return out;
}

const outputsOf = (o: WishOutput): Tensor[] => [
  o.predLogits,
  o.predMasks,
  o.predPrompts.point,
  o.predPrompts.box,
  o.camLogits,
  ...o.aux.flatMap((p) => [p.predLogits, p.predMasks, p.predPrompts.point, p.predPrompts.box]),
];

const result: Record<string, unknown> = {
  threads: torch.getNumThreads(),
  libtorch: torch.backendInfo().torch,
  loadAverage: Number(loadavg()[0].toFixed(1)),
};
const warmup = Number(args.warmup);

if (only.has('cpu-small')) {
  torch.manualSeed(0);
  const model = buildModel(cpuSmall);
  model.train();
  const images = torch.randn([8, 3, 96, 96]).keep();
  const parts: Record<string, number[]> = { forward: [], backward: [] };
  // fixed random weights for the outputs, made once so the timing is the model's alone
  const weights = torch.noGrad(() =>
    torch.tidy(() => outputsOf(model.forward(images)).map((t) => torch.randn(t.shape))),
  );
  torch.keep(weights);
  const ms = time(Number(args.iters), warmup, 'cpu-small fwd+bwd', () => {
    torch.tidy(() => {
      const t0 = performance.now();
      const outs = outputsOf(model.forward(images));
      let loss = torch.zeros([]);
      outs.forEach((t, i) => (loss = loss.add(t.mul(weights[i]).mean())));
      const t1 = performance.now();
      loss.backward();
      parts.forward.push(t1 - t0);
      parts.backward.push(performance.now() - t1);
    });
    model.zeroGrad();
  });
  result['cpu-small'] = {
    batch: 8,
    size: 96,
    parameters: model.numParameters(),
    fwdBwdMs: Math.round(median(ms)),
    forwardMs: Math.round(median(parts.forward.slice(warmup))),
    backwardMs: Math.round(median(parts.backward.slice(warmup))),
  };
  model.dispose();
}

if (only.has('paper')) {
  torch.manualSeed(0);
  const model = buildModel(paper);
  model.eval();
  const image = torch.randn([1, 3, 512, 512]).keep();
  const ms = time(Number(args['paper-iters']), Math.min(warmup, 1), 'paper forward', () => {
    torch.noGrad(() => torch.tidy(() => model.forward(image)));
  });
  result.paper = {
    batch: 1,
    size: 512,
    parameters: model.numParameters(),
    forwardMs: Math.round(median(ms)),
  };
  model.dispose();
}

console.log(JSON.stringify(result));
