// `npm run bench:sam`: SAM on this machine's CPU with random weights (speed does not depend on them).
//
//   encoder   ms per image (1 x 3 x L x L), L = 1024 for vit_b, 256 for the fixture-sized model
//   decoder   ms per prompt for batches of 1 / 16 / 256 single-point prompts in one predictTorch call,
//             low-res logits only (what training keeps), plus batch 1 with full-resolution masks at
//             3/4 L x L (the predictor's default path)
//   python    optional: the same decoder step written in plain PyTorch (bench/sam_peer.py, Debian's
//             /usr/bin/python3 with torch 1.13, same libtorch and thread count), ms per prompt
// The last stdout line is one JSON object with every figure.
// Options: --models vit_b,tiny  --threads N  --encoder-runs 1 (vit_b; tiny does 5)  --decoder-runs 3
//          --batches 1,16,256  --chunk 32  --no-python
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as torch from '../src/engine/index.ts';
import { buildSam } from '../src/sam/build.ts';
import { parseSamConfigJson, samPreset, type SamConfig } from '../src/sam/config.ts';
import { SamPredictor } from '../src/sam/predictor.ts';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'vit_b,tiny' },
    threads: { type: 'string' },
    'encoder-runs': { type: 'string', default: '1' },
    'decoder-runs': { type: 'string', default: '3' },
    batches: { type: 'string', default: '1,16,256' },
    chunk: { type: 'string', default: '32' },
    'no-python': { type: 'boolean', default: false },
  },
});

// The fixture's tiny_sam_config.json sizes (kept here so the bench runs without the fixture).
const TINY: SamConfig = {
  ...samPreset('vit_b'),
  ...parseSamConfigJson({
    img_size: 256,
    encoder_embed_dim: 64,
    encoder_depth: 4,
    encoder_num_heads: 4,
    encoder_global_attn_indexes: [1, 3],
    window_size: 6,
    prompt_embed_dim: 64,
    decoder_mlp_dim: 128,
    decoder_num_heads: 2,
    iou_head_hidden_dim: 64,
  }),
};
const CONFIGS: Record<string, SamConfig> = { vit_b: samPreset('vit_b'), tiny: TINY };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x: number, d = 2): number => Number(x.toFixed(d));
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);

/** Runs fn `runs` times (inside tidy, no grad) and returns each run's milliseconds. */
function time(runs: number, fn: () => unknown): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    torch.noGrad(() => torch.tidy(() => void fn()));
    out.push(performance.now() - t0);
  }
  return out;
}

interface ModelFigures {
  params_m: number;
  img_size: number;
  encoder_ms: number | null;
  encoder_runs: number;
  decoder_ms_per_prompt: Record<string, number>;
  decoder_full_res_ms_batch1: number;
  python_decoder_ms_per_prompt?: Record<string, number> | string;
}

function benchModel(name: string, cfg: SamConfig, encoderRuns: number, decoderRuns: number): ModelFigures {
  torch.manualSeed(0);
  const sam = buildSam(cfg);
  const L = cfg.imgSize;
  const D = cfg.promptEmbedDim;
  const figures: ModelFigures = {
    params_m: round(sam.numParameters() / 1e6, 3),
    img_size: L,
    encoder_ms: null,
    encoder_runs: encoderRuns,
    decoder_ms_per_prompt: {},
    decoder_full_res_ms_batch1: 0,
  };
  if (encoderRuns > 0) {
    log(`[${name}] encoder: ${encoderRuns} run(s) of 1x3x${L}x${L} ...`);
    const x = torch.randn([1, 3, L, L]);
    const ms = time(encoderRuns, () => sam.encodeImage(x));
    x.dispose();
    figures.encoder_ms = round(median(ms), 1);
    log(`[${name}] encoder: ${ms.map((m) => m.toFixed(0)).join(', ')} ms`);
  }
  const predictor = new SamPredictor(sam);
  const [h, w] = sam.promptEncoder.imageEmbeddingSize;
  const originalSize: [number, number] = [Math.round((3 * L) / 4), L];
  torch.tidy(() => predictor.setImageEmbedding(torch.randn([1, D, h, w]), { originalSize }));
  const [ih, iw] = predictor.inputSize;
  const chunkSize = Number(args.chunk);
  for (const B of args.batches!.split(',').map(Number)) {
    const coords = torch.rand([B, 1, 2]).mul(torch.tensor([iw, ih]));
    const labels = torch.ones([B, 1], { dtype: 'int64' });
    const call = (n = B): unknown =>
      predictor.predictTorch({
        pointCoords: coords.narrow(0, 0, n),
        pointLabels: labels.narrow(0, 0, n),
        lowResOnly: true,
        chunkSize,
      });
    time(1, () => call(Math.min(B, 16))); // warm-up (oneDNN primitive caches, allocator)
    const runs = B >= 256 ? 1 : decoderRuns;
    const ms = time(runs, () => call());
    figures.decoder_ms_per_prompt[String(B)] = round(median(ms) / B);
    log(`[${name}] decoder batch ${B}: ${(median(ms) / B).toFixed(2)} ms per prompt (${runs} runs)`);
    torch.dispose([coords, labels]);
  }
  const full = time(decoderRuns, () =>
    predictor.predict({ pointCoords: [[originalSize[1] / 2, originalSize[0] / 2]], pointLabels: [1] }),
  );
  figures.decoder_full_res_ms_batch1 = round(median(full));
  log(`[${name}] decoder batch 1 with full-resolution masks: ${median(full).toFixed(1)} ms`);
  predictor.dispose();
  sam.dispose();
  return figures;
}

/** The plain-PyTorch decoder step of bench/sam_peer.py, or why it could not run. */
function pythonPeer(cfg: SamConfig, threads: number, runs: number): Record<string, number> | string {
  const python = '/usr/bin/python3';
  const peer = fileURLToPath(new URL('./sam_peer.py', import.meta.url));
  if (!existsSync(python)) return 'no /usr/bin/python3';
  const r = spawnSync(
    python,
    [
      peer,
      '--dim',
      String(cfg.promptEmbedDim),
      '--grid',
      String(cfg.imgSize / cfg.patchSize),
      '--mlp-dim',
      String(cfg.decoderMlpDim),
      '--heads',
      String(cfg.decoderNumHeads),
      '--iou-hidden',
      String(cfg.iouHeadHiddenDim),
      '--batches',
      args.batches!,
      '--chunk',
      args.chunk!,
      '--runs',
      String(runs),
      '--threads',
      String(threads),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0)
    return `python peer failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return JSON.parse(last) as Record<string, number>;
}

async function main(): Promise<void> {
  if (args.threads) torch.setNumThreads(Number(args.threads));
  const threads = torch.getNumThreads();
  const info = torch.backendInfo();
  log(`libtorch ${info.torch}, ${threads} threads`);
  const result: Record<string, unknown> = { bench: 'sam', threads, libtorch: info.torch };
  for (const name of args.models!.split(',')) {
    const cfg = CONFIGS[name];
    if (!cfg)
      throw new Error(`--models: unknown model '${name}' (known: ${Object.keys(CONFIGS).join(', ')})`);
    const encRuns = name === 'tiny' ? 5 : Number(args['encoder-runs']);
    const fig = benchModel(name, cfg, encRuns, Number(args['decoder-runs']));
    if (!args['no-python']) {
      log(`[${name}] python peer ...`);
      fig.python_decoder_ms_per_prompt = pythonPeer(cfg, threads, Number(args['decoder-runs']));
      log(`[${name}] python peer: ${JSON.stringify(fig.python_decoder_ms_per_prompt)}`);
    }
    result[name] = fig;
  }
  console.log(JSON.stringify(result));
}

await main();
