"""Plain-PyTorch peer of bench/sam.ts's decoder figures: SAM's prompt encoder (points) and mask decoder
written out with torch.nn, random weights, the same sizes, batches and chunking, computed the way the
official code does it (image embedding repeated per prompt, nn.Linear through the linked BLAS).
Prints one JSON line: batch size -> ms per prompt (low-res logits only).
"""
import argparse
import json
import math
import time

import torch
from torch import nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads, down=1):
        super().__init__()
        self.heads = heads
        inner = dim // down
        self.q, self.k, self.v = nn.Linear(dim, inner), nn.Linear(dim, inner), nn.Linear(dim, inner)
        self.out = nn.Linear(inner, dim)

    def split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = self.split(self.q(q)), self.split(self.k(k)), self.split(self.v(v))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)
        o = (a @ v).transpose(1, 2)
        return self.out(o.reshape(o.shape[0], o.shape[1], -1))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp, skip_pe):
        super().__init__()
        self.self_attn, self.t2i, self.i2t = Attention(dim, heads), Attention(dim, heads, 2), Attention(dim, heads, 2)
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(4))
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.ReLU(), nn.Linear(mlp, dim))
        self.skip_pe = skip_pe

    def forward(self, t, k, tpe, kpe):
        if self.skip_pe:
            t = self.self_attn(t, t, t)
        else:
            q = t + tpe
            t = t + self.self_attn(q, q, t)
        t = self.norms[0](t)
        t = self.norms[1](t + self.t2i(t + tpe, k + kpe, k))
        t = self.norms[2](t + self.mlp(t))
        k = self.norms[3](k + self.i2t(k + kpe, t + tpe, t))
        return t, k


def mlp(i, h, o, n):
    dims = [i] + [h] * (n - 1) + [o]
    layers = []
    for j in range(n):
        layers.append(nn.Linear(dims[j], dims[j + 1]))
        if j < n - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Decoder(nn.Module):
    def __init__(self, dim, heads, mlp_dim, iou_hidden, img_size):
        super().__init__()
        self.G = torch.randn(2, dim // 2)
        self.point_embed = nn.Parameter(torch.randn(4, dim))
        self.not_a_point = nn.Parameter(torch.randn(dim))
        self.no_mask = nn.Parameter(torch.randn(dim))
        self.img_size = img_size
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_dim, i == 0) for i in range(2))
        self.final = Attention(dim, heads, 2)
        self.norm_final = nn.LayerNorm(dim)
        self.tokens = nn.Parameter(torch.randn(5, dim))
        self.up1 = nn.ConvTranspose2d(dim, dim // 4, 2, 2)
        self.up_norm = nn.LayerNorm(dim // 4)
        self.up2 = nn.ConvTranspose2d(dim // 4, dim // 8, 2, 2)
        self.hyper = nn.ModuleList(mlp(dim, dim, dim // 8, 3) for _ in range(4))
        self.iou = mlp(dim, iou_hidden, 4, 3)

    def pe(self, xy):
        v = 2 * math.pi * ((2 * xy - 1) @ self.G)
        return torch.cat([v.sin(), v.cos()], -1)

    def forward(self, image, image_pe, coords):
        b = coords.shape[0]
        pts = torch.cat([coords + 0.5, torch.zeros(b, 1, 2)], 1) / self.img_size
        sparse = self.pe(pts)
        sparse[:, 0] += self.point_embed[1]
        sparse[:, 1] = self.not_a_point
        tokens = torch.cat([self.tokens.expand(b, -1, -1), sparse], 1)
        src = torch.repeat_interleave(image, b, 0) + self.no_mask.view(1, -1, 1, 1)
        _, c, h, w = src.shape
        k = src.flatten(2).transpose(1, 2)
        kpe = image_pe.flatten(2).transpose(1, 2)
        t = tokens
        for blk in self.blocks:
            t, k = blk(t, k, tokens, kpe)
        t = self.norm_final(t + self.final(t + tokens, k + kpe, k))
        x = self.up1(k.transpose(1, 2).reshape(b, c, h, w))
        x = F.gelu(self.up_norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2))
        x = F.gelu(self.up2(x))
        hyper = torch.stack([m(t[:, 1 + i]) for i, m in enumerate(self.hyper)], 1)
        masks = (hyper @ x.flatten(2)).view(b, 4, x.shape[2], x.shape[3])
        return masks[:, 1:], self.iou(t[:, 0])[:, 1:]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--dim', type=int, default=256)
    p.add_argument('--grid', type=int, default=64)
    p.add_argument('--mlp-dim', type=int, default=2048)
    p.add_argument('--heads', type=int, default=8)
    p.add_argument('--iou-hidden', type=int, default=256)
    p.add_argument('--batches', default='1,16,256')
    p.add_argument('--chunk', type=int, default=32)
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    img_size = a.grid * 16
    dec = Decoder(a.dim, a.heads, a.mlp_dim, a.iou_hidden, img_size).eval()
    image = torch.randn(1, a.dim, a.grid, a.grid)
    ys, xs = torch.meshgrid(torch.arange(a.grid) + 0.5, torch.arange(a.grid) + 0.5, indexing='ij')
    image_pe = dec.pe(torch.stack([xs, ys], -1) / a.grid).permute(2, 0, 1)[None]
    out = {}
    with torch.inference_mode():
        for b in [int(s) for s in a.batches.split(',')]:
            coords = torch.rand(b, 1, 2) * img_size * 0.75

            def step():
                for s in range(0, b, a.chunk):
                    dec(image, image_pe, coords[s : s + a.chunk])

            dec(image, image_pe, coords[: min(b, 16)])  # warm-up
            runs = 1 if b >= 256 else a.runs
            ms = []
            for _ in range(runs):
                t0 = time.perf_counter()
                step()
                ms.append((time.perf_counter() - t0) * 1000)
            ms.sort()
            out[str(b)] = round(ms[len(ms) // 2] / b, 2)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
