// `npm run bench:model`: the WISH model's speed on this machine.
//   cpu-small  forward + backward of a batch of 8 at 96 px (train mode; the loss is a fixed random
//              weighting of every output, so every head and every decoder stage is in the graph)
//   paper      forward of one 512 x 512 image (eval mode, no grad): R50 + deformable pixel decoder + 9 layers
// Median over the timed iterations after warm-up. The last stdout line is one JSON object.
// The JSON carries the 1-minute load average: on a shared 2-core machine under load, 2 intra-op threads
// can be an order of magnitude slower than 1 (threads wait on each other's stolen core); try --threads 1.
// The cpu-small step is compared with the same step in Python PyTorch on the same libtorch
// (bench/model_peer.py, the module classes the golden fixtures are made with; the parameter counts agree),
// in --rounds rounds that alternate the two sides; the ratio TypeScript / Python is printed.
// Options: --iters N (cpu-small, default 10, split over the rounds) --rounds R (default 3)
//          --paper-iters N (default 3) --warmup N (default 2) --only cpu-small,paper --threads N
//          --python PATH (the peer's interpreter; default /usr/bin/python3, Debian's python3-torch) --no-python
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
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
    rounds: { type: 'string', default: '3' },
    python: { type: 'string', default: '/usr/bin/python3' },
    'no-python': { type: 'boolean', default: false },
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

interface PeerTimes {
  stepMs: number[];
  forwardMs: number[];
  backwardMs: number[];
}

/** bench/model_peer.py: the same cpu-small step in Python PyTorch on the same libtorch. */
function runPeer(iters: number, warmupIters: number, threads: number): PeerTimes & Record<string, unknown> {
  const script = fileURLToPath(new URL('./model_peer.py', import.meta.url));
  const argv = [
    script,
    '--iters',
    String(iters),
    '--warmup',
    String(warmupIters),
    '--threads',
    String(threads),
  ];
  let out: string;
  try {
    out = execFileSync(args.python!, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch (e) {
    throw new Error(
      `bench/model_peer.py failed with ${args.python} (${(e as Error).message.split('\n')[0]}); it needs ` +
        "PyTorch (Debian's python3-torch): pass --python PATH, or --no-python to time TypeScript alone",
    );
  }
  const last = out.trim().split('\n').at(-1)!;
  return JSON.parse(last) as PeerTimes & Record<string, unknown>;
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
  const step = (): void => {
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
  };
  // Rounds alternate with the Python peer, so that a change in the machine's load hits both sides.
  const rounds = Math.max(1, Number(args.rounds));
  const per = Math.max(1, Math.ceil(Number(args.iters) / rounds));
  const ms: number[] = [];
  const py: PeerTimes = { stepMs: [], forwardMs: [], backwardMs: [] };
  let peerInfo: Record<string, unknown> | null = null;
  for (let r = 0; r < rounds; r++) {
    const w = r === 0 ? warmup : 0;
    const before = parts.forward.length;
    ms.push(...time(per, w, `cpu-small fwd+bwd (round ${r + 1})`, step));
    parts.forward.splice(before, w);
    parts.backward.splice(before, w);
    if (!args['no-python']) {
      const p = runPeer(per, warmup, torch.getNumThreads());
      for (const k of ['stepMs', 'forwardMs', 'backwardMs'] as const) py[k].push(...p[k]);
      peerInfo = { torch: p.torch, threads: p.threads, parameters: p.parameters };
    }
  }
  const ts = { fwdBwdMs: median(ms), forwardMs: median(parts.forward), backwardMs: median(parts.backward) };
  result['cpu-small'] = {
    batch: 8,
    size: 96,
    parameters: model.numParameters(),
    ...Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, Math.round(v)])),
    ...(peerInfo && {
      python: {
        ...peerInfo,
        fwdBwdMs: Math.round(median(py.stepMs)),
        forwardMs: Math.round(median(py.forwardMs)),
        backwardMs: Math.round(median(py.backwardMs)),
      },
      ratio: {
        fwdBwd: Number((ts.fwdBwdMs / median(py.stepMs)).toFixed(2)),
        forward: Number((ts.forwardMs / median(py.forwardMs)).toFixed(2)),
        backward: Number((ts.backwardMs / median(py.backwardMs)).toFixed(2)),
      },
    }),
  };
  if (peerInfo) {
    const r = result['cpu-small'] as { ratio: Record<string, number> };
    console.log(
      `cpu-small step TypeScript / Python PyTorch (same libtorch, ${torch.getNumThreads()} threads): ` +
        `fwd+bwd ${r.ratio.fwdBwd}, forward ${r.ratio.forward}, backward ${r.ratio.backward} ` +
        `(medians ${Math.round(ts.fwdBwdMs)} / ${Math.round(median(py.stepMs))} ms)`,
    );
  }
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
