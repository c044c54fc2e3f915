#!/usr/bin/python3
"""Python PyTorch side of `npm run bench:engine`.

Runs the same three workloads as bench/engine.ts, written the way a PyTorch user writes them
(default settings, stock nn modules, torch.optim.AdamW with its defaults), on the same libtorch
(Debian python3-torch) and the same intra-op thread count. Prints one JSON object on stdout.

Workloads (keep in step with bench/engine.ts):
  cnn      ResNet-18 (BasicBlock [2, 2, 2, 2], 10 classes), batch 8 x 3 x 128 x 128, BatchNorm in
           train mode, cross-entropy, forward + backward + AdamW step.
  decoder  6 Mask2Former-style decoder layers (cross-attention -> self-attention -> FFN, each
           post-norm), 100 queries, width 256, 8 heads, FFN 2048, memory = a 32 x 32 x 256 map,
           batch 2; a Linear head + MSE; forward + backward + AdamW step.
  tiny     a + b for two 0-d float32 tensors (per-op overhead), reported in microseconds.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers = []
        cin = 64
        for i, cout in enumerate([64, 128, 256, 512]):
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):  # x: (B, 3, H, W) -> (B, num_classes)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DecoderLayer(nn.Module):
    """Mask2Former's order: cross-attention to the pixel features, then self-attention, then FFN."""

    def __init__(self, d, heads, ffn):
        super().__init__()
        self.cross_attn = nn.MultiheadAttention(d, heads)
        self.norm1 = nn.LayerNorm(d)
        self.self_attn = nn.MultiheadAttention(d, heads)
        self.norm2 = nn.LayerNorm(d)
        self.linear1 = nn.Linear(d, ffn)
        self.linear2 = nn.Linear(ffn, d)
        self.norm3 = nn.LayerNorm(d)

    def forward(self, tgt, memory, query_pos, pos):  # tgt: (Q, B, d), memory: (HW, B, d)
        tgt = self.norm1(tgt + self.cross_attn(tgt + query_pos, memory + pos, memory)[0])
        q = tgt + query_pos
        tgt = self.norm2(tgt + self.self_attn(q, q, tgt)[0])
        return self.norm3(tgt + self.linear2(F.relu(self.linear1(tgt))))


class Decoder(nn.Module):
    def __init__(self, layers=6, queries=100, d=256, heads=8, ffn=2048):
        super().__init__()
        self.query_feat = nn.Embedding(queries, d)
        self.query_embed = nn.Embedding(queries, d)
        self.layers = nn.ModuleList([DecoderLayer(d, heads, ffn) for _ in range(layers)])
        self.head = nn.Linear(d, d)

    def forward(self, memory, pos):  # memory, pos: (HW, B, d) -> (Q, B, d)
        b = memory.shape[1]
        query_pos = self.query_embed.weight.unsqueeze(1).repeat(1, b, 1)
        tgt = self.query_feat.weight.unsqueeze(1).repeat(1, b, 1)
        for layer in self.layers:
            tgt = layer(tgt, memory, query_pos, pos)
        return self.head(tgt)


def timed(step, warmup, iters):
    """Milliseconds of each of `iters` calls of step(), after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


DEVICE = 'cpu'


def settle():
    """A GPU step's kernels are queued, not done, when its last call returns."""
    if DEVICE != 'cpu':
        torch.cuda.synchronize()


def cnn_step():
    model = ResNet18(10).train().to(DEVICE)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(8, 3, 128, 128, device=DEVICE)
    y = torch.randint(0, 10, (8,), device=DEVICE)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        settle()

    return step


def decoder_step(batch=2):
    model = Decoder().train().to(DEVICE)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    memory = torch.randn(32 * 32, batch, 256, device=DEVICE)
    pos = torch.randn(32 * 32, batch, 256, device=DEVICE)
    target = torch.randn(100, batch, 256, device=DEVICE)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(memory, pos), target)
        loss.backward()
        opt.step()
        settle()

    return step


TINY_INNER = 10000


def tiny_step():
    """10000 adds of two 0-d tensors per call (the caller divides)."""
    a = torch.tensor(1.5, device=DEVICE)
    b = torch.tensor(2.5, device=DEVICE)

    def step():
        for _ in range(TINY_INNER):
            a + b
        settle()

    return step


WORKLOADS = {'cnn': cnn_step, 'decoder': decoder_step, 'tiny': tiny_step}


def serve():
    """Line protocol for bench/engine.ts, which alternates rounds between the two sides so that a change
    in machine load hits both alike: each stdin line {"workload", "warmup", "iters"} gets one stdout line
    {"times": [ms, ...]} (tiny: microseconds per add)."""
    steps = {}
    for line in sys.stdin:
        req = json.loads(line)
        w = req['workload']
        if w not in steps:
            steps[w] = WORKLOADS[w]()
        times = timed(steps[w], req['warmup'], req['iters'])
        if w == 'tiny':
            times = [t * 1e3 / TINY_INNER for t in times]
        print(json.dumps({'times': times}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--threads', type=int, default=os.cpu_count(), help='intra-op threads (default: all cores)')
    p.add_argument('--warmup', type=int, default=3, help='untimed iterations before measuring')
    p.add_argument('--iters', type=int, default=20, help='timed iterations (median reported)')
    p.add_argument('--decoder-iters', type=int, default=10, help='timed decoder iterations (slow on CPU)')
    p.add_argument('--only', default='cnn,decoder,tiny', help='comma-separated workloads to run')
    p.add_argument('--device', default='cpu', help="'cpu' or 'cuda'")
    p.add_argument('--serve', action='store_true', help='answer requests on stdin (used by bench/engine.ts)')
    args = p.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    only = set(args.only.split(','))
    if args.serve:
        print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
        serve()
        return
    out = {'side': 'python', 'torch': torch.__version__, 'threads': torch.get_num_threads()}
    if 'cnn' in only:
        out['cnn_ms'] = statistics.median(timed(cnn_step(), args.warmup, args.iters))
    if 'decoder' in only:
        out['decoder_ms'] = statistics.median(timed(decoder_step(), min(args.warmup, 2), args.decoder_iters))
    if 'tiny' in only:
        out['tiny_op_us'] = statistics.median(timed(tiny_step(), args.warmup, args.iters)) * 1e3 / TINY_INNER
    print(json.dumps(out))


if __name__ == '__main__':
    main()
