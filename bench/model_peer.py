#!/usr/bin/python3
"""Python PyTorch side of `npm run bench:model` (the cpu-small workload; keep the two in step).

The cpu-small student written with stock PyTorch modules: the small CNN (batch norm in train mode), the FPN
pixel decoder (GroupNorm with 32 groups), 1x1 input projections, Mask2Former's masked-attention decoder with
class, mask and prompt heads (3 layers, 16 queries, width 128), and the CAM head. The module classes are the
ones scripts/make-model-fixtures.py writes the golden fixtures with (the TypeScript model matches them there).
One step = forward of a batch of 8 at 96 px, a fixed random weighting of every output, backward; the same
as bench/model.ts. Prints one JSON object: the step, forward and backward times of every timed iteration.
Needs Debian's python3-torch and python3-torchvision (the fixture script imports torchvision).
"""

import argparse
import importlib.util
import json
import os
import time

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location('fixtures', os.path.join(ROOT, 'scripts', 'make-model-fixtures.py'))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)

# cpu-small (src/model/configs.ts)
WIDTHS, DEPTH, STEM = [32, 64, 128, 192], 2, 16
CONV_DIM, MASK_DIM = 64, 64
HIDDEN, HEADS, FFN, LAYERS, QUERIES, CLASSES, PROMPT = 128, 4, 512, 3, 16, 4, 256


class CpuSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = fx.SmallCnn(WIDTHS, DEPTH, STEM)
        self.fpn = fx.Fpn(dict(zip(('res2', 'res3', 'res4', 'res5'), WIDTHS)), CONV_DIM, MASK_DIM)
        for m in self.fpn.modules():
            if isinstance(m, fx.ConvGN):
                m.norm = nn.GroupNorm(32, m.norm.num_channels)
                nn.init.kaiming_uniform_(m.weight, a=1)
        self.input_proj = nn.ModuleList(nn.Conv2d(CONV_DIM, HIDDEN, 1) for _ in range(3))
        self.decoder = fx.Decoder(HIDDEN, HEADS, FFN, LAYERS, QUERIES, CLASSES, MASK_DIM, PROMPT)
        self.cam = nn.Conv2d(WIDTHS[-1], CLASSES, 1, bias=False)

    def forward(self, x):
        feats = self.backbone(x)
        cam_logits = self.cam(feats['res5']).mean((2, 3))
        mask_features, ms = self.fpn(feats)
        preds, _, _ = self.decoder([p(m) for p, m in zip(self.input_proj, ms)], mask_features)
        return [t for pred in preds for t in pred] + [cam_logits]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--iters', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = CpuSmall().train()
    images = torch.randn(8, 3, 96, 96)
    with torch.no_grad():
        weights = [torch.randn(t.shape) for t in model(images)]
    step, fwd, bwd = [], [], []
    for i in range(a.warmup + a.iters):
        t0 = time.perf_counter()
        loss = sum((t * w).mean() for t, w in zip(model(images), weights))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        if i >= a.warmup:
            step.append((t2 - t0) * 1e3)
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'parameters': params,
                      'stepMs': step, 'forwardMs': fwd, 'backwardMs': bwd}))


if __name__ == '__main__':
    main()
