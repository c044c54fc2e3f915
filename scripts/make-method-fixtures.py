#!/usr/bin/python3
"""Writes test/method/reference/method-expected.json: golden values for src/method from torch 1.13.

Run once with Debian's python3-torch (the same libtorch the engine links):
    /usr/bin/python3 scripts/make-method-fixtures.py

This is an independent re-statement in PyTorch of what the TypeScript implements: Mask2Former's point
sampling, pairwise and per-match mask losses, and importance sampling; WISH's prompt KL, min-over-SAM-levels
matching (Eq. 11-14), set loss (Eq. 15), CAM loss (Eq. 17), self-enhancement loss (Eq. 19) and total
(Eq. 20); and SAM's postprocess chain read at augmented-frame points. Inputs are deterministic
(sin(arange(n) * a)), and random points come from a CPU generator with a fixed seed, which libtorch
draws identically from C++ and Python; the assignment is found by brute force.
"""

import itertools
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'method', 'reference', 'method-expected.json')


def seq(shape, a, scale=1.0):
    n = 1
    for s in shape:
        n *= s
    return torch.arange(n, dtype=torch.float32).mul(a).sin().mul(scale).reshape(shape)


def arr(t):
    t = t.detach()
    return {'shape': list(t.shape), 'values': t.flatten().double().tolist()}


# ---- Mask2Former's building blocks, restated ----

def point_sample(maps, coords):
    """maps [N, C, H, W], coords [N, P, 2] in [0, 1] -> [N, C, P] (grid_sample, align_corners False)."""
    return F.grid_sample(maps, (2.0 * coords - 1.0).unsqueeze(2), align_corners=False).squeeze(3)


def pair_ce(x, t):
    pos = F.binary_cross_entropy_with_logits(x, torch.ones_like(x), reduction='none')
    neg = F.binary_cross_entropy_with_logits(x, torch.zeros_like(x), reduction='none')
    return (torch.einsum('nc,mc->nm', pos, t) + torch.einsum('nc,mc->nm', neg, 1 - t)) / x.shape[1]


def pair_dice(x, t):
    s = x.sigmoid()
    num = 2 * torch.einsum('nc,mc->nm', s, t)
    den = s.sum(-1)[:, None] + t.sum(-1)[None, :]
    return 1 - (num + 1) / (den + 1)


def ce_loss(x, t, n):
    return F.binary_cross_entropy_with_logits(x, t, reduction='none').mean(1).sum() / n


def dice_loss(x, t, n):
    s = x.sigmoid()
    return (1 - (2 * (s * t).sum(-1) + 1) / (s.sum(-1) + t.sum(-1) + 1)).sum() / n


def pair_kl(pred, tgt):
    """KL(softmax(tgt) || softmax(pred)) summed over tokens and channels, for every (pred, tgt) pair."""
    out = torch.zeros(pred.shape[0], tgt.shape[0])
    for q in range(pred.shape[0]):
        for t in range(tgt.shape[0]):
            out[q, t] = F.kl_div(pred[q].log_softmax(-1), tgt[t].softmax(-1), reduction='sum')
    return out


def uncertain_coords(logits, num_points, oversample, importance, g):
    """logits [N, 1, H, W] -> coords [N, P, 2]."""
    n = logits.shape[0]
    num_sampled = int(num_points * oversample)
    cand = torch.rand(n, num_sampled, 2, generator=g)
    pl = point_sample(logits, cand)  # [N, 1, S]
    unc = -pl.abs()
    k = int(importance * num_points)
    idx = torch.topk(unc[:, 0, :], k=k, dim=1)[1]
    chosen = torch.stack([cand[i, idx[i]] for i in range(n)])
    rest = num_points - k
    if rest > 0:
        chosen = torch.cat([chosen, torch.rand(n, rest, 2, generator=g)], dim=1)
    return chosen


# ---- SAM targets: postprocess chain read at augmented-frame points ----

def sam_logits_at(low, geo, frame, coords):
    """low [T, K, r, r]; coords [n, P, 2] normalised over the augmented frame -> [T, K, P]."""
    L, (nh, nw), (H, W) = geo['imgSize'], geo['inputSize'], geo['originalSize']
    full = F.interpolate(low.double(), size=(L, L), mode='bilinear', align_corners=False)[:, :, :nh, :nw]
    c = coords.double()
    x = (c[..., 0] * frame['dstWidth'] - frame['tx']) / frame['sx']
    y = (c[..., 1] * frame['dstHeight'] - frame['ty']) / frame['sy']
    grid = torch.stack([2 * x / W - 1, 2 * y / H - 1], -1).unsqueeze(2)  # [n, P, 1, 2]
    T, K = low.shape[:2]
    if grid.shape[0] == 1:
        grid = grid.expand(T, -1, -1, -1)
    vals = F.grid_sample(full, grid, mode='bilinear', padding_mode='border', align_corners=False).squeeze(3)
    inside = ((x >= 0) & (x < W) & (y >= 0) & (y < H)).unsqueeze(1)
    return torch.where(inside, vals, torch.full_like(vals, -1e4)).float()


# ---- the golden cases ----

def building_blocks(out):
    maps = seq([2, 1, 5, 6], 0.37, 3.0)
    coords = seq([2, 7, 2], 0.91).add(1).div(2)
    out['point_sample'] = arr(point_sample(maps, coords))
    x = seq([4, 9], 0.53, 4.0)
    t = (seq([3, 9], 0.71) > 0).float()
    out['pair_ce'] = arr(pair_ce(x, t))
    out['pair_dice'] = arr(pair_dice(x, t))
    xm = seq([3, 9], 0.29, 3.0)
    out['ce_loss'] = arr(ce_loss(xm, t, 2.0))
    out['dice_loss'] = arr(dice_loss(xm, t, 2.0))
    out['pair_kl'] = arr(pair_kl(seq([4, 2, 6], 0.43, 2.0), seq([3, 2, 6], 0.67, 2.0)))
    g = torch.Generator().manual_seed(11)
    out['uncertain_coords'] = arr(uncertain_coords(seq([3, 1, 5, 5], 0.83, 2.0), 10, 3, 0.75, g))


FRAME0 = {'sx': -0.5, 'tx': 13.0, 'sy': 0.5, 'ty': 0.0, 'srcWidth': 28, 'srcHeight': 20, 'dstWidth': 12, 'dstHeight': 12}
GEO0 = {'imgSize': 32, 'inputSize': [23, 32], 'originalSize': [20, 28]}


def sam_case(out):
    low = seq([2, 3, 8, 8], 0.61, 5.0)
    coords = seq([1, 40, 2], 0.77).add(1).div(2)
    out['sam_at_points'] = arr(sam_logits_at(low, GEO0, FRAME0, coords))


def wish_case(out):
    """A two-image batch through matching, Eq. 15 (two layers), Eq. 17, Eq. 19, Eq. 20, with gradients."""
    B, Q, C, h, Dp = 2, 4, 3, 6, 8
    Pm, Pl = 20, 15
    layers = []
    for li in range(2):
        layers.append({
            'logits': seq([B, Q, C + 1], 0.31 + li * 0.1, 2.0).requires_grad_(),
            'masks': seq([B, Q, h, h], 0.17 + li * 0.05, 6.0).requires_grad_(),
            'point': seq([B, Q, 2, Dp], 0.23 + li * 0.07, 2.0).requires_grad_(),
            'box': seq([B, Q, 2, Dp], 0.41 + li * 0.03, 2.0).requires_grad_(),
        })
    cams = seq([B, C, 3, 3], 0.47, 3.0).requires_grad_()
    cam_logits = cams.mean([2, 3])
    low0 = seq([2, 3, 8, 8], 0.61, 5.0)
    dense1 = (seq([1, 12, 12], 0.13) > 0.2).float()
    z0 = seq([2, 2, Dp], 0.37, 2.0)
    z1 = seq([1, 2, Dp], 0.59, 2.0)
    targets = [
        {'classes': [2, 0], 'kind': 'box', 'z': z0, 'image_classes': [0, 2]},
        {'classes': [1], 'kind': 'point', 'z': z1, 'image_classes': [1, 2]},
    ]
    weights = {'cls': 2.0, 'mask': 5.0, 'dice': 5.0, 'prompt': 5.0}

    def tgt_all(b, coords):
        if b == 0:
            return (sam_logits_at(low0, GEO0, FRAME0, coords) > 0).float()  # [2, 3, P]
        return point_sample(dense1[:, None], coords.expand(1, -1, -1))  # [1, 1, P]

    def tgt_pairs(b, tidx, lv, coords):
        if b == 0:
            chosen = torch.stack([low0[t, l] for t, l in zip(tidx, lv)])[:, None]
            return (sam_logits_at(chosen, GEO0, FRAME0, coords)[:, 0] > 0).float()
        return point_sample(dense1[tidx][:, None], coords)[:, 0]

    g = torch.Generator().manual_seed(7)
    num_masks = 3.0
    terms = {}
    total = 0
    match_log = []
    # Matching, layer by layer (each draws its own uniform points).
    for li in range(2):
        lay = layers[li]
        with torch.no_grad():
            coords_all = torch.rand(B, Pm, 2, generator=g)
            matches = []
            for b, t in enumerate(targets):
                prob = lay['logits'][b].softmax(-1)
                cls = -prob[:, t['classes']]
                pm = point_sample(lay['masks'][b][None], coords_all[b:b + 1])[0]  # [Q, P]
                tg = tgt_all(b, coords_all[b:b + 1])
                T, K = tg.shape[:2]
                tg = tg.reshape(T * K, -1)
                per = (pair_ce(pm, tg) + pair_dice(pm, tg)).reshape(Q, T, K)
                mcost, lvl = per.min(2)
                pk = pair_kl(lay[t['kind']][b], t['z'])
                cost = 2 * cls + 5 * pk + 5 * mcost
                best = None
                for perm in itertools.permutations(range(Q), T):
                    s = sum(cost[perm[j], j].item() for j in range(T))
                    if best is None or s < best[0] - 1e-9:
                        best = (s, perm)
                pairs = sorted((best[1][j], j) for j in range(T))
                matches.append(([p[0] for p in pairs], [p[1] for p in pairs], [lvl[p[0], p[1]].item() for p in pairs]))
        match_log.append(matches)
    # Eq. 15 for both layers together: matched pairs ordered image by image, then layer, then match;
    # one importance sampling over all of them.
    rows = []
    for b in range(B):
        for li in range(2):
            qs, ts, lv = match_log[li][b]
            rows += [(li, b, q, t, l) for q, t, l in zip(qs, ts, lv)]
    src = torch.stack([layers[li]['masks'][b, q] for li, b, q, _, _ in rows])
    with torch.no_grad():
        coords = uncertain_coords(src[:, None], Pl, 3, 0.75, g)
        labels = []
        for b in range(B):
            idx = [i for i, r in enumerate(rows) if r[1] == b]
            labels.append(tgt_pairs(b, [rows[i][3] for i in idx], [rows[i][4] for i in idx], coords[idx]))
        labels = torch.cat(labels)
    logits = point_sample(src[:, None], coords)[:, 0]
    w = torch.ones(C + 1)
    w[C] = 0.1
    for li, suffix in [(0, ''), (1, '_0')]:
        lay = layers[li]
        matches = match_log[li]
        tc = torch.full((B, Q), C, dtype=torch.long)
        for b, (qs, ts, _) in enumerate(matches):
            for q, t in zip(qs, ts):
                tc[b, q] = targets[b]['classes'][t]
        l_ce = F.cross_entropy(lay['logits'].reshape(B * Q, C + 1), tc.reshape(-1), w)
        sel = [i for i, r in enumerate(rows) if r[0] == li]
        l_mask = ce_loss(logits[sel], labels[sel], num_masks)
        l_dice = dice_loss(logits[sel], labels[sel], num_masks)
        pz = torch.stack([lay[targets[rows[i][1]]['kind']][rows[i][1], rows[i][2]] for i in sel])
        tz = torch.stack([targets[rows[i][1]]['z'][rows[i][3]] for i in sel])
        l_prompt = F.kl_div(pz.log_softmax(-1), tz.softmax(-1), reduction='sum') / pz.shape[0]
        for name, v, wt in [('loss_ce', l_ce, 2.0), ('loss_mask', l_mask, 5.0), ('loss_dice', l_dice, 5.0), ('loss_prompt', l_prompt, 5.0)]:
            terms[name + suffix] = (v * wt).item()
            total = total + v * wt
    # Eq. 17
    mh = torch.zeros(B, C)
    for b, t in enumerate(targets):
        mh[b, t['image_classes']] = 1
    l_cam = F.binary_cross_entropy_with_logits(cam_logits, mh)
    terms['loss_cam'] = l_cam.item()
    # Eq. 19 from the last layer
    with torch.no_grad():
        lay = layers[0]
        prob = lay['logits'].softmax(-1)
        val, best = prob.max(-1)
        merged = torch.zeros(B, C, h, h)
        for b in range(B):
            for q in range(Q):
                c = best[b, q].item()
                if c < C and val[b, q] >= 0.3 and mh[b, c] > 0:
                    merged[b, c] = torch.maximum(merged[b, c], (lay['masks'][b, q].sigmoid() >= 0.5).float())
    up = F.interpolate(cams, size=(h, h), mode='bilinear', align_corners=False)
    l_self = F.binary_cross_entropy_with_logits(up, merged)
    terms['loss_self'] = l_self.item()
    total = total + l_cam + l_self
    total.backward()
    out['wish'] = {
        'terms': terms,
        'total': total.item(),
        'matches': [[{'queries': m[0], 'targets': m[1], 'levels': m[2]} for m in ms] for ms in match_log],
        'merged': arr(merged),
        'grad_logits': arr(layers[0]['logits'].grad),
        'grad_masks': arr(layers[0]['masks'].grad),
        'grad_box': arr(layers[0]['box'].grad),
        'grad_point': arr(layers[0]['point'].grad),
        'grad_cams': arr(cams.grad),
    }


def main():
    torch.set_num_threads(1)
    out = {}
    building_blocks(out)
    sam_case(out)
    wish_case(out)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(out, f)
    print('wrote', OUT)


if __name__ == '__main__':
    main()
