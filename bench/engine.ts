// `npm run bench:engine`: the engine against Python PyTorch on the same libtorch and thread count.
//
// The same three workloads as bench/engine_peer.py (keep the two in step):
//   cnn      ResNet-18 (BasicBlock [2, 2, 2, 2], 10 classes), batch 8 x 3 x 128 x 128, BatchNorm in train
//            mode, cross-entropy, forward + backward + AdamW step.
//   decoder  6 Mask2Former-style decoder layers (cross-attention -> self-attention -> FFN, post-norm), 100
//            queries, width 256, 8 heads, FFN 2048, memory = a 32 x 32 x 256 map, batch 2; Linear head + MSE.
//   tiny     a + b on two 0-d float32 tensors (per-op overhead), microseconds per add.
// The Python side runs as a subprocess (/usr/bin/python3 bench/engine_peer.py --serve) in the same run;
// the two sides take turns in rounds (TS, Python, TS, ...) so a change in machine load hits both alike,
// and each side's median is over all its timed steps.
// Then resident memory over 1000 training steps of the CNN at 3 x 64 x 64 (a quarter of the pixels, so
// the run takes about a minute; the same code path and allocation pattern as the full-size step).
// The last stdout line is one JSON object (ratios are TypeScript time / Python time; < 1 = faster).
// Options: --threads N (default: all cores) --warmup 3 --iters 20 --decoder-iters 10 --rounds 4
//          --mem-steps 1000 --only cnn,decoder,tiny,memory --no-python
//          --device cuda (both sides on the GPU; each step ends with a synchronize; no memory run)
//          --python PATH (the peer's interpreter; default /usr/bin/python3, Debian's python3-torch)
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { full, randint, randn } from '../src/engine/creation.ts';
import { tidy } from '../src/engine/memory.ts';
import { blasThreadsDefaulted } from '../src/engine/native.ts';
import { adaptiveAvgPool2d, maxPool2d } from '../src/engine/nn/functional.ts';
import { crossEntropy, mseLoss } from '../src/engine/losses.ts';
import { cuda, manualSeed, setNumThreads, getNumThreads, backendInfo } from '../src/engine/runtime.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import {
  BatchNorm2d,
  Conv2d,
  Embedding,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  MultiheadAttention,
  Sequential,
} from '../src/engine/nn/index.ts';
import { AdamW } from '../src/engine/optim/index.ts';

// ---- models (same architecture as engine_peer.py) ---------------------------------------------------------

export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null = null;

  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(cout));
    this.conv2 = this.registerModule('conv2', new Conv2d(cout, cout, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(cout));
    if (stride !== 1 || cin !== cout) {
      this.downsample = this.registerModule(
        'downsample',
        new Sequential(new Conv2d(cin, cout, 1, { stride, bias: false }), new BatchNorm2d(cout)),
      );
    }
  }

  forward(x: Tensor): Tensor {
    const out = this.bn1.forward(this.conv1.forward(x)).relu();
    const y = this.bn2.forward(this.conv2.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return y.add(identity).relu();
  }
}

export class ResNet18 extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layers: Sequential[] = [];
  readonly fc: Linear;

  constructor(numClasses = 10) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(64));
    let cin = 64;
    [64, 128, 256, 512].forEach((cout, i) => {
      const stride = i === 0 ? 1 : 2;
      const layer = new Sequential(new BasicBlock(cin, cout, stride), new BasicBlock(cout, cout, 1));
      this.layers.push(this.registerModule(`layer${i + 1}`, layer));
      cin = cout;
    });
    this.fc = this.registerModule('fc', new Linear(512, numClasses));
  }

  /** x: (B, 3, H, W) -> logits (B, numClasses) */
  forward(x: Tensor): Tensor {
    let y = this.bn1.forward(this.conv1.forward(x)).relu();
    y = maxPool2d(y, 3, { stride: 2, padding: 1 });
    for (const l of this.layers) y = l.forward(y);
    return this.fc.forward(adaptiveAvgPool2d(y, 1).flatten(1));
  }
}

/** Mask2Former's order: cross-attention to the pixel features, then self-attention, then FFN; post-norm. */
export class DecoderLayer extends Module {
  readonly crossAttn: MultiheadAttention;
  readonly norm1: LayerNorm;
  readonly selfAttn: MultiheadAttention;
  readonly norm2: LayerNorm;
  readonly linear1: Linear;
  readonly linear2: Linear;
  readonly norm3: LayerNorm;

  constructor(d: number, heads: number, ffn: number) {
    super();
    this.crossAttn = this.registerModule('cross_attn', new MultiheadAttention(d, heads));
    this.norm1 = this.registerModule('norm1', new LayerNorm(d));
    this.selfAttn = this.registerModule('self_attn', new MultiheadAttention(d, heads));
    this.norm2 = this.registerModule('norm2', new LayerNorm(d));
    this.linear1 = this.registerModule('linear1', new Linear(d, ffn));
    this.linear2 = this.registerModule('linear2', new Linear(ffn, d));
    this.norm3 = this.registerModule('norm3', new LayerNorm(d));
  }

  /** tgt: (Q, B, d), memory: (HW, B, d) -> (Q, B, d) */
  forward(tgt: Tensor, memory: Tensor, queryPos: Tensor, pos: Tensor): Tensor {
    let t = this.norm1.forward(
      tgt.add(this.crossAttn.forward(tgt.add(queryPos), memory.add(pos), memory)[0]),
    );
    const q = t.add(queryPos);
    t = this.norm2.forward(t.add(this.selfAttn.forward(q, q, t)[0]));
    return this.norm3.forward(t.add(this.linear2.forward(this.linear1.forward(t).relu())));
  }
}

export class Decoder extends Module {
  readonly queryFeat: Embedding;
  readonly queryEmbed: Embedding;
  readonly layers: ModuleList<DecoderLayer>;
  readonly head: Linear;

  constructor(layers = 6, queries = 100, d = 256, heads = 8, ffn = 2048) {
    super();
    this.queryFeat = this.registerModule('query_feat', new Embedding(queries, d));
    this.queryEmbed = this.registerModule('query_embed', new Embedding(queries, d));
    this.layers = this.registerModule(
      'layers',
      new ModuleList(Array.from({ length: layers }, () => new DecoderLayer(d, heads, ffn))),
    );
    this.head = this.registerModule('head', new Linear(d, d));
  }

  /** memory, pos: (HW, B, d) -> (Q, B, d) */
  forward(memory: Tensor, pos: Tensor): Tensor {
    const b = memory.shape[1];
    const queryPos = this.queryEmbed.weight.unsqueeze(1).repeat(1, b, 1);
    let tgt = this.queryFeat.weight.unsqueeze(1).repeat(1, b, 1);
    for (const layer of this.layers) tgt = layer.forward(tgt, memory, queryPos, pos);
    return this.head.forward(tgt);
  }
}

// ---- timing --------------------------------------------------------------------------------------------

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds of each of `iters` calls of step() after `warmup` untimed ones; the event loop turns
 * between steps, as in a training loop (it runs the finalizers of collected tensors). */
async function timed(step: () => void, warmup: number, iters: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) {
    step();
    await yieldToLoop();
  }
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await yieldToLoop();
  }
  return times;
}

/** Ends a step on a GPU: its kernels are queued, not done, when the last call returns. */
const settle = (device: string): void => {
  if (device !== 'cpu') cuda.synchronize();
};

export function cnnStep(
  batch: number,
  size: number,
  device = 'cpu',
): { step: () => void; dispose: () => void } {
  const model = new ResNet18(10).train().to(device);
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  const x = randn([batch, 3, size, size], { device }).keep();
  const y = randint(0, 10, [batch], { dtype: 'int64', device }).keep();
  const step = (): void => {
    tidy(() => {
      opt.zeroGrad();
      const loss = crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
    });
    settle(device);
  };
  return {
    step,
    dispose: () => {
      opt.dispose();
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

export function decoderStep(batch = 2, device = 'cpu'): { step: () => void; dispose: () => void } {
  const model = new Decoder().train().to(device);
  const opt = new AdamW(model.parameters(), { lr: 1e-4 });
  const memory = randn([32 * 32, batch, 256], { device }).keep();
  const pos = randn([32 * 32, batch, 256], { device }).keep();
  const target = randn([100, batch, 256], { device }).keep();
  const step = (): void => {
    tidy(() => {
      opt.zeroGrad();
      const loss = mseLoss(model.forward(memory, pos), target);
      loss.backward();
      opt.step();
    });
    settle(device);
  };
  return {
    step,
    dispose: () => {
      opt.dispose();
      model.dispose();
      for (const t of [memory, pos, target]) t.dispose();
    },
  };
}

const TINY_INNER = 10000;

/** 10000 adds of two 0-d tensors per call, each result freed at once (what a loop of small ops costs). */
function tinyStep(device = 'cpu'): { step: () => void; dispose: () => void } {
  const a = full([], 1.5, { device });
  const b = full([], 2.5, { device });
  return {
    step: () => {
      for (let i = 0; i < TINY_INNER; i++) a.add(b).dispose();
      settle(device);
    },
    dispose: () => {
      a.dispose();
      b.dispose();
    },
  };
}

async function residentMemory(steps: number): Promise<{ rssMb: number[]; at: number[] }> {
  const { step, dispose } = cnnStep(8, 64);
  const at = [10, 100, Math.floor(steps / 2), steps];
  const rssMb: number[] = [];
  for (let i = 1; i <= steps; i++) {
    step();
    await yieldToLoop();
    if (at.includes(i)) rssMb.push(process.memoryUsage().rss / 2 ** 20);
    if (i % 100 === 0) process.stderr.write(`  memory run: ${i}/${steps} steps\r`);
  }
  process.stderr.write('\n');
  dispose();
  return { rssMb, at };
}

// ---- main ----------------------------------------------------------------------------------------------

interface Args {
  threads: number;
  warmup: number;
  iters: number;
  decoderIters: number;
  memSteps: number;
  rounds: number;
  only: Set<string>;
  python: boolean;
  device: string;
  pythonPath: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    threads: availableParallelism(),
    warmup: 3,
    iters: 20,
    decoderIters: 10,
    memSteps: 1000,
    rounds: 4,
    only: new Set(['cnn', 'decoder', 'tiny', 'memory']),
    python: true,
    device: 'cpu',
    pythonPath: '/usr/bin/python3',
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`bench:engine: ${k} needs a non-negative integer`);
      return n;
    };
    if (k === '--threads') a.threads = v();
    else if (k === '--warmup') a.warmup = v();
    else if (k === '--iters') a.iters = v();
    else if (k === '--decoder-iters') a.decoderIters = v();
    else if (k === '--mem-steps') a.memSteps = v();
    else if (k === '--rounds') a.rounds = Math.max(1, v());
    else if (k === '--only') a.only = new Set(argv[++i].split(','));
    else if (k === '--no-python') a.python = false;
    else if (k === '--device') a.device = argv[++i];
    else if (k === '--python') a.pythonPath = argv[++i];
    else throw new Error(`bench:engine: unknown argument ${k} (see the header of bench/engine.ts)`);
  }
  return a;
}

/** The Python side (bench/engine_peer.py --serve): one request per round, answered with its step times. */
class PythonPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  info: { torch?: string; threads?: number } = {};

  constructor(threads: number, device: string, python: string) {
    const script = fileURLToPath(new URL('./engine_peer.py', import.meta.url));
    // Python runs as a user runs it: with OpenBLAS's default threads, unless the user set them for both.
    const env = { ...process.env };
    if (blasThreadsDefaulted) delete env.OPENBLAS_NUM_THREADS;
    this.child = spawn(python, [script, '--serve', '--threads', String(threads), '--device', device], {
      env,
    });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(`[python] ${d}`));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async readLine(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done)
      throw new Error(`bench/engine_peer.py exited (code ${this.child.exitCode}); see its stderr above`);
    return JSON.parse(r.value) as Record<string, unknown>;
  }

  async ready(): Promise<void> {
    this.info = await this.readLine();
  }

  async run(workload: string, warmup: number, iters: number): Promise<number[]> {
    this.child.stdin.write(JSON.stringify({ workload, warmup, iters }) + '\n');
    return (await this.readLine()).times as number[];
  }

  close(): void {
    this.child.stdin.end();
  }
}

/**
 * Alternates rounds between the two sides (TS, Python, TS, Python, ...) so that load changes on the
 * machine hit both alike; returns every timed sample of each side.
 */
async function compare(
  name: string,
  make: () => { step: () => void; dispose: () => void },
  peer: PythonPeer | null,
  warmup: number,
  iters: number,
  rounds: number,
): Promise<{ ts: number[]; py: number[] }> {
  const w = make();
  const ts: number[] = [];
  const py: number[] = [];
  const per = Math.max(1, Math.round(iters / rounds));
  for (let r = 0; r < rounds; r++) {
    ts.push(...(await timed(w.step, r === 0 ? warmup : 0, per)));
    if (peer) py.push(...(await peer.run(name, r === 0 ? warmup : 0, per)));
    process.stderr.write(`  ${name}: round ${r + 1}/${rounds}\r`);
  }
  process.stderr.write('\n');
  w.dispose();
  return { ts, py };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  setNumThreads(a.threads);
  manualSeed(0);
  const info = backendInfo();
  const backend = /ATen parallel backend: (.*)/.exec(info.parallel)?.[1] ?? 'unknown';
  console.log(`engine: libtorch ${info.torch} (${backend} backend), ${getNumThreads()} intra-op threads`);
  const blas = process.env.OPENBLAS_NUM_THREADS ?? 'default';
  console.log(
    `OpenBLAS threads: engine ${blas}${blasThreadsDefaulted ? ' (engine default)' : ''}, python ${blasThreadsDefaulted ? 'default' : blas}`,
  );
  if (a.device !== 'cpu') {
    if (!cuda.isAvailable())
      throw new Error(`bench:engine: --device ${a.device} but the addon sees no CUDA device`);
    a.only.delete('memory'); // resident memory is a CPU allocator figure
    console.log(`device: ${a.device} (${cuda.deviceCount()} CUDA devices)`);
  }
  const peer = a.python ? new PythonPeer(a.threads, a.device, a.pythonPath) : null;
  await peer?.ready();
  if (peer) console.log(`python: torch ${peer.info.torch}, ${peer.info.threads} intra-op threads`);

  const res: Record<string, { ts: number; py: number | null }> = {};
  const workloads: [string, () => { step: () => void; dispose: () => void }, number, number, string][] = [
    ['cnn', () => cnnStep(8, 128, a.device), a.warmup, a.iters, 'ms'],
    ['decoder', () => decoderStep(2, a.device), Math.min(a.warmup, 2), a.decoderIters, 'ms'],
    ['tiny', () => tinyStep(a.device), a.warmup, a.iters, 'us'],
  ];
  for (const [name, make, warmup, iters, unit] of workloads) {
    if (!a.only.has(name)) continue;
    const r = await compare(name, make, peer, warmup, iters, a.rounds);
    const scale = name === 'tiny' ? 1e3 / TINY_INNER : 1; // tiny: ms per 10000 adds -> us per add (TS side)
    const tsMed = median(r.ts) * scale;
    const pyMed = r.py.length > 0 ? median(r.py) : null;
    res[name] = { ts: tsMed, py: pyMed };
    const fmt = (v: number): string => v.toFixed(name === 'tiny' ? 3 : 1);
    const ratio = pyMed === null ? '' : `   ratio ${(tsMed / pyMed).toFixed(3)}`;
    console.log(
      `${name.padEnd(8)} median  ts ${fmt(tsMed)} ${unit}   python ${pyMed === null ? '-' : fmt(pyMed)} ${unit}${ratio}`,
    );
  }
  peer?.close();

  let mem: { rssMb: number[]; at: number[] } | null = null;
  if (a.only.has('memory') && a.memSteps > 0) {
    mem = await residentMemory(a.memSteps);
    const pairs = mem.at.map((s, i) => `after ${s}: ${mem!.rssMb[i].toFixed(0)} MB`).join(', ');
    console.log(`resident memory, ${a.memSteps} ResNet-18 steps at batch 8 x 3x64x64 (TS): ${pairs}`);
  }

  const ratio = (k: string): number | null =>
    res[k] && res[k].py !== null ? Number((res[k].ts / res[k].py!).toFixed(3)) : null;
  const out = {
    threads: getNumThreads(),
    device: a.device,
    torch: info.torch,
    cnn_ms_ts: res.cnn?.ts ?? null,
    cnn_ms_py: res.cnn?.py ?? null,
    cnn_ratio: ratio('cnn'),
    decoder_ms_ts: res.decoder?.ts ?? null,
    decoder_ms_py: res.decoder?.py ?? null,
    decoder_ratio: ratio('decoder'),
    tiny_op_us_ts: res.tiny?.ts ?? null,
    tiny_op_us_py: res.tiny?.py ?? null,
    tiny_op_ratio: ratio('tiny'),
    rss_mb_after_steps: mem
      ? Object.fromEntries(mem.at.map((s, i) => [s, Number(mem!.rssMb[i].toFixed(1))]))
      : null,
    memory_model: mem ? 'ResNet-18 train step, batch 8, 3x64x64' : null,
  };
  console.log(JSON.stringify(out));
}

// Run when executed (npm run bench:engine), not when imported for profiling.
if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
