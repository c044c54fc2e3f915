#!/usr/bin/python3
"""Writes the golden values for test/model/*.test.ts into test/fixtures/model/.

Run once with Debian's python3-torch and python3-torchvision (the same libtorch the engine links):
    /usr/bin/python3 scripts/make-model-fixtures.py
Every file is a torch.save'd dict read by the engine's restricted .pth loader:
  - torchvision-resnet-keys.json: key -> shape of torchvision's resnet18 / resnet50 state dicts (the
    full-size checkpoints are too large to commit; the test loads zero tensors of these shapes strictly).
  - resnet18_w8.pth / resnet50_w4.pth: state dicts (torchvision layout, fc and num_batches_tracked included)
    of reduced-width ResNets built from torchvision's own BasicBlock / Bottleneck classes, random weights
    and batch-norm statistics; *_io.pth: an input and the res2..res5 features in eval mode.
  - msdeform.pth: the sampling core (grid_sample formulation) and an MSDeformAttn layer and encoder layer.
  - decoder.pth: a tiny Mask2Former masked-attention decoder with class / mask / prompt heads: state dict
    under 'state', inputs and every stage's predictions under 'io'.
The Python modules below are written from the papers' and Mask2Former's published formulation.
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'model')
torch.manual_seed(0)


def save(obj, name):
    path = os.path.join(OUT, name)
    torch.save(obj, path + '.tmp')
    os.replace(path + '.tmp', path)
    print(f'{name}: {os.path.getsize(path)} bytes')


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)


# ---- ResNets -----------------------------------------------------------------------------------------------


class SmallTorchvisionResNet(nn.Module):
    """torchvision.models.ResNet's layout with base width `w` instead of 64 (torchvision's class fixes 64)."""

    def __init__(self, block, layers, w):
        super().__init__()
        self.inplanes = w
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, w, layers[0], 1)
        self.layer2 = self._make_layer(block, 2 * w, layers[1], 2)
        self.layer3 = self._make_layer(block, 4 * w, layers[2], 2)
        self.layer4 = self._make_layer(block, 8 * w, layers[3], 2)
        self.fc = nn.Linear(8 * w * block.expansion, 10)

    def _make_layer(self, block, planes, n, stride):
        down = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            down = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        blocks = [block(self.inplanes, planes, stride, down)]
        self.inplanes = planes * block.expansion
        blocks += [block(self.inplanes, planes) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        res2 = self.layer1(x)
        res3 = self.layer2(res2)
        res4 = self.layer3(res3)
        res5 = self.layer4(res4)
        return {'res2': res2, 'res3': res3, 'res4': res4, 'res5': res5}


def resnet_fixtures():
    torch.manual_seed(1)
    keys = {}
    for name, fn in (('resnet18', torchvision.models.resnet18), ('resnet50', torchvision.models.resnet50)):
        sd = fn(weights=None).state_dict()
        keys[name] = {k: list(v.shape) for k, v in sd.items()}
    with open(os.path.join(OUT, 'torchvision-resnet-keys.json'), 'w') as f:
        json.dump(keys, f, indent=0)
    for name, block, layers, w in (('resnet18_w8', BasicBlock, [2, 2, 2, 2], 8), ('resnet50_w4', Bottleneck, [3, 4, 6, 3], 4)):
        m = SmallTorchvisionResNet(block, layers, w)
        randomize_bn(m)
        m.eval()
        x = torch.randn(2, 3, 64, 96)
        with torch.no_grad():
            feats = m.features(x)
        save(m.state_dict(), f'{name}.pth')
        save({'input': x, **feats}, f'{name}_io.pth')


# ---- multi-scale deformable attention -----------------------------------------------------------------------


def ms_deform_attn_core(value, shapes, locations, weights):
    """value [N, S, M, D], locations [N, Lq, M, L, P, 2] in [0, 1], weights [N, Lq, M, L, P] -> [N, Lq, M*D]"""
    n, _, m, d = value.shape
    _, lq, _, l, p, _ = locations.shape
    values = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * locations - 1
    sampled = []
    for lid, (h, w) in enumerate(shapes):
        v = values[lid].flatten(2).transpose(1, 2).reshape(n * m, d, h, w)
        g = grids[:, :, :, lid].transpose(1, 2).flatten(0, 1)
        sampled.append(F.grid_sample(v, g, mode='bilinear', padding_mode='zeros', align_corners=False))
    wts = weights.transpose(1, 2).reshape(n * m, 1, lq, l * p)
    out = (torch.stack(sampled, dim=-2).flatten(-2) * wts).sum(-1).view(n, m * d, lq)
    return out.transpose(1, 2).contiguous()


class MSDeformAttn(nn.Module):
    def __init__(self, d, levels, heads, points):
        super().__init__()
        self.l, self.m, self.p = levels, heads, points
        self.sampling_offsets = nn.Linear(d, heads * levels * points * 2)
        self.attention_weights = nn.Linear(d, heads * levels * points)
        self.value_proj = nn.Linear(d, d)
        self.output_proj = nn.Linear(d, d)

    def forward(self, query, ref, inp, shapes):
        n, lq, c = query.shape
        s = inp.shape[1]
        value = self.value_proj(inp).view(n, s, self.m, c // self.m)
        off = self.sampling_offsets(query).view(n, lq, self.m, self.l, self.p, 2)
        aw = F.softmax(self.attention_weights(query).view(n, lq, self.m, self.l * self.p), -1)
        aw = aw.view(n, lq, self.m, self.l, self.p)
        norm = torch.tensor([[w, h] for h, w in shapes], dtype=torch.float32)
        loc = ref[:, :, None, :, None, :] + off / norm[None, None, None, :, None, :]
        return self.output_proj(ms_deform_attn_core(value, shapes, loc, aw))


class EncoderLayer(nn.Module):
    def __init__(self, d, ffn, levels, heads, points):
        super().__init__()
        self.self_attn = MSDeformAttn(d, levels, heads, points)
        self.norm1 = nn.LayerNorm(d)
        self.linear1 = nn.Linear(d, ffn)
        self.linear2 = nn.Linear(ffn, d)
        self.norm2 = nn.LayerNorm(d)

    def forward(self, src, pos, ref, shapes):
        src = self.norm1(src + self.self_attn(src + pos, ref, src, shapes))
        return self.norm2(src + self.linear2(F.relu(self.linear1(src))))


def reference_points(shapes):
    refs = []
    for h, w in shapes:
        ry, rx = torch.meshgrid(torch.linspace(0.5, h - 0.5, h), torch.linspace(0.5, w - 0.5, w), indexing='ij')
        refs.append(torch.stack((rx.reshape(-1) / w, ry.reshape(-1) / h), -1))
    r = torch.cat(refs, 0)[None]  # [1, S, 2]
    return r[:, :, None].repeat(1, 1, len(shapes), 1)


def randomize(module, scale=0.3):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-scale, scale)


def msdeform_fixtures():
    torch.manual_seed(2)
    shapes = [(4, 5), (2, 3)]
    s = sum(h * w for h, w in shapes)
    n, lq, m, d, l, p = 2, 7, 2, 4, len(shapes), 3
    value = torch.randn(n, s, m, d)
    loc = torch.rand(n, lq, m, l, p, 2) * 1.3 - 0.15  # some points outside the map: zeros padding
    wts = F.softmax(torch.randn(n, lq, m, l * p), -1).view(n, lq, m, l, p)
    leaves = [t.clone().requires_grad_(True) for t in (value, loc, wts)]
    core = ms_deform_attn_core(*leaves[:1], shapes, *leaves[1:])
    r = torch.randn_like(core)
    (core * r).sum().backward()
    core = core.detach()

    dm = 16
    attn = MSDeformAttn(dm, l, 2, 2)
    randomize(attn)
    q = torch.randn(n, s, dm)
    inp = torch.randn(n, s, dm)
    ref = reference_points(shapes)
    with torch.no_grad():
        attn_out = attn(q, ref, inp, shapes)
    layer = EncoderLayer(dm, 24, l, 2, 2)
    randomize(layer)
    pos = torch.randn(n, s, dm)
    with torch.no_grad():
        layer_out = layer(inp, pos, ref, shapes)
    state = {f'attn.{k}': v for k, v in attn.state_dict().items()}
    state.update({f'layer.{k}': v for k, v in layer.state_dict().items()})
    io = {
        'value': value, 'locations': loc, 'weights': wts, 'core': core, 'core_r': r,
        'grad_value': leaves[0].grad, 'grad_locations': leaves[1].grad, 'grad_weights': leaves[2].grad,
        'query': q, 'input': inp, 'reference': ref, 'attn_out': attn_out, 'pos': pos, 'layer_out': layer_out,
    }
    save({'state': state, 'io': io}, 'msdeform.pth')


class ConvGN(nn.Module):
    """detectron2's Conv2d with a GroupNorm (keys weight, norm.weight, norm.bias), optional ReLU."""

    def __init__(self, i, o, k, relu):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(o, i, k, k))
        self.norm = nn.GroupNorm(o, o)
        self.relu = relu

    def forward(self, x):
        y = self.norm(F.conv2d(x, self.weight, padding=self.weight.shape[-1] // 2))
        return F.relu(y) if self.relu else y


class Encoder(nn.Module):
    def __init__(self, d, ffn, levels, heads, points, layers):
        super().__init__()
        self.level_embed = nn.Parameter(torch.empty(levels, d))
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(EncoderLayer(d, ffn, levels, heads, points) for _ in range(layers))


class PixelDecoder(nn.Module):
    """Mask2Former's MSDeformAttnPixelDecoder (3 encoder levels res5, res4, res3; one FPN level res2)."""

    def __init__(self, in_ch, d, mask_dim, ffn, heads, points, layers):
        super().__init__()
        self.d = d
        self.input_proj = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_ch[k], d, 1), nn.GroupNorm(d, d)) for k in ('res5', 'res4', 'res3')
        )
        self.transformer = Encoder(d, ffn, 3, heads, points, layers)
        self.adapter_1 = ConvGN(in_ch['res2'], d, 1, False)
        self.layer_1 = ConvGN(d, d, 3, True)
        self.mask_features = nn.Conv2d(d, mask_dim, 1)

    def forward(self, feats):
        srcs = [self.input_proj[i](feats[k]) for i, k in enumerate(('res5', 'res4', 'res3'))]
        pos = [sine_pos(x, self.d // 2) for x in srcs]
        shapes = [tuple(x.shape[-2:]) for x in srcs]
        n = srcs[0].shape[0]
        src = torch.cat([x.flatten(2).transpose(1, 2) for x in srcs], 1)
        p = torch.cat(
            [q.flatten(2).transpose(1, 2) + self.transformer.level_embed[l].view(1, 1, -1) for l, q in enumerate(pos)], 1
        )
        ref = reference_points(shapes)
        for layer in self.transformer.encoder.layers:
            src = layer(src, p, ref, shapes)
        outs = [z.transpose(1, 2).view(n, -1, h, w) for z, (h, w) in zip(src.split([h * w for h, w in shapes], 1), shapes)]
        lat = self.adapter_1(feats['res2'])
        y = self.layer_1(lat + F.interpolate(outs[-1], size=lat.shape[-2:], mode='bilinear', align_corners=False))
        return self.mask_features(y), outs


def pixel_decoder_fixtures():
    torch.manual_seed(3)
    in_ch = {'res2': 6, 'res3': 8, 'res4': 10, 'res5': 12}
    pd = PixelDecoder(in_ch, 16, 12, 24, 2, 2, 2)
    randomize(pd)
    with torch.no_grad():
        for m in pd.modules():
            if isinstance(m, nn.GroupNorm):
                m.weight.uniform_(0.5, 1.5)
    feats = {k: torch.randn(2, c, 64 // s, 96 // s) for (k, c), s in zip(in_ch.items(), (4, 8, 16, 32))}
    with torch.no_grad():
        mf, outs = pd(feats)
    io = {**feats, 'mask_features': mf, 'ms0': outs[0], 'ms1': outs[1], 'ms2': outs[2]}
    save({'state': pd.state_dict(), 'io': io}, 'pixel_decoder.pth')


class ConvBnRelu(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.conv = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.bn = nn.BatchNorm2d(o)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SmallCnn(nn.Module):
    """The CPU backbone: stride-4 stem (two strided convs), then per scale a strided conv and depth-1 more."""

    def __init__(self, widths, depth, stem):
        super().__init__()
        self.stem = nn.Sequential(ConvBnRelu(3, stem, 2), ConvBnRelu(stem, stem, 2))
        ins = [stem] + list(widths[:3])
        for i, c in enumerate(widths):
            blocks = [ConvBnRelu(ins[i], c, 1 if i == 0 else 2)] + [ConvBnRelu(c, c, 1) for _ in range(depth - 1)]
            setattr(self, f'stage{i + 2}', nn.Sequential(*blocks))

    def forward(self, x):
        x = self.stem(x)
        out = {}
        for i in range(4):
            x = getattr(self, f'stage{i + 2}')(x)
            out[f'res{i + 2}'] = x
        return out


class Fpn(nn.Module):
    """Mask2Former's BasePixelDecoder: 3x3 on res5, lateral 1x1 + nearest upsampling + 3x3 below, GN."""

    def __init__(self, in_ch, d, mask_dim):
        super().__init__()
        self.lateral = nn.ModuleList(ConvGN(in_ch[k], d, 1, False) for k in ('res4', 'res3', 'res2'))
        self.output = nn.ModuleList(ConvGN(in_ch['res5'] if i == 0 else d, d, 3, True) for i in range(4))
        self.mask_features = nn.Conv2d(d, mask_dim, 3, 1, 1)

    def forward(self, f):
        outs = [self.output[0](f['res5'])]
        for i, k in enumerate(('res4', 'res3', 'res2')):
            lat = self.lateral[i](f[k])
            outs.append(self.output[i + 1](lat + F.interpolate(outs[-1], size=lat.shape[-2:], mode='nearest')))
        return self.mask_features(outs[3]), outs[:3]


def small_fixtures():
    torch.manual_seed(5)
    widths = [6, 8, 10, 12]
    cnn = SmallCnn(widths, 2, 4)
    randomize_bn(cnn)
    cnn.eval()
    fpn = Fpn(dict(zip(('res2', 'res3', 'res4', 'res5'), widths)), 16, 12)
    randomize(fpn)
    cam = nn.Conv2d(12, 3, 1, bias=False)
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        feats = cnn(x)
        mf, ms = fpn(feats)
        maps = cam(feats['res5'])
    state = {f'cnn.{k}': v for k, v in cnn.state_dict().items()}
    state.update({f'fpn.{k}': v for k, v in fpn.state_dict().items()})
    state['cam.conv.weight'] = cam.weight.detach()
    io = {'input': x, **feats, 'mask_features': mf, 'ms0': ms[0], 'ms1': ms[1], 'ms2': ms[2], 'cam_maps': maps}
    io['cam_logits'] = maps.mean((2, 3))
    save({'state': state, 'io': io}, 'small.pth')


# ---- masked-attention decoder -------------------------------------------------------------------------------


def sine_pos(x, f):
    b, _, h, w = x.shape
    not_mask = torch.ones(b, h, w)
    y = not_mask.cumsum(1, dtype=torch.float32)
    xx = not_mask.cumsum(2, dtype=torch.float32)
    eps, scale = 1e-6, 2 * math.pi
    y = y / (y[:, -1:, :] + eps) * scale
    xx = xx / (xx[:, :, -1:] + eps) * scale
    dim_t = torch.arange(f, dtype=torch.float32)
    dim_t = 10000 ** (2 * (dim_t // 2) / f)
    px = xx[:, :, :, None] / dim_t
    py = y[:, :, :, None] / dim_t
    px = torch.stack((px[:, :, :, 0::2].sin(), px[:, :, :, 1::2].cos()), dim=4).flatten(3)
    py = torch.stack((py[:, :, :, 0::2].sin(), py[:, :, :, 1::2].cos()), dim=4).flatten(3)
    return torch.cat((py, px), dim=3).permute(0, 3, 1, 2)


class MLP(nn.Module):
    def __init__(self, i, h, o, n):
        super().__init__()
        dims = [i] + [h] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:] + [o]))

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if k < len(self.layers) - 1 else layer(x)
        return x


class Cross(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(d, h)
        self.norm = nn.LayerNorm(d)

    def forward(self, tgt, mem, mask, pos, qpos):
        out = self.multihead_attn(tgt + qpos, mem + pos, mem, attn_mask=mask)[0]
        return self.norm(tgt + out)


class Self_(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, h)
        self.norm = nn.LayerNorm(d)

    def forward(self, tgt, qpos):
        q = tgt + qpos
        return self.norm(tgt + self.self_attn(q, q, tgt)[0])


class FFN(nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.linear1 = nn.Linear(d, f)
        self.linear2 = nn.Linear(f, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, tgt):
        return self.norm(tgt + self.linear2(F.relu(self.linear1(tgt))))


class PromptHead(nn.Module):
    def __init__(self, d, dp):
        super().__init__()
        self.dp = dp
        self.point = MLP(d, d, 2 * dp, 3)
        self.box = MLP(d, d, 2 * dp, 3)


class Decoder(nn.Module):
    """Mask2Former's MultiScaleMaskedTransformerDecoder (post-norm, no dropout) plus the WISH prompt head."""

    def __init__(self, d, heads, ffn, layers, queries, classes, mask_dim, dp):
        super().__init__()
        self.d, self.heads, self.layers = d, heads, layers
        self.transformer_self_attention_layers = nn.ModuleList(Self_(d, heads) for _ in range(layers))
        self.transformer_cross_attention_layers = nn.ModuleList(Cross(d, heads) for _ in range(layers))
        self.transformer_ffn_layers = nn.ModuleList(FFN(d, ffn) for _ in range(layers))
        self.decoder_norm = nn.LayerNorm(d)
        self.query_feat = nn.Embedding(queries, d)
        self.query_embed = nn.Embedding(queries, d)
        self.level_embed = nn.Embedding(3, d)
        self.class_embed = nn.Linear(d, classes + 1)
        self.mask_embed = MLP(d, d, mask_dim, 3)
        self.prompt_embed = PromptHead(d, dp)

    def heads_(self, output, mask_features, size):
        x = self.decoder_norm(output).transpose(0, 1)
        logits = self.class_embed(x)
        masks = torch.einsum('bqc,bchw->bqhw', self.mask_embed(x), mask_features)
        b, q = x.shape[:2]
        point = self.prompt_embed.point(x).view(b, q, 2, -1)
        box = self.prompt_embed.box(x).view(b, q, 2, -1)
        am = F.interpolate(masks, size=size, mode='bilinear', align_corners=False)
        am = (am.sigmoid().flatten(2).unsqueeze(1).repeat(1, self.heads, 1, 1).flatten(0, 1) < 0.5).bool()
        return (logits, masks, point, box), am

    def forward(self, xs, mask_features):
        sizes, pos, src = [], [], []
        for i, x in enumerate(xs):
            sizes.append(x.shape[-2:])
            pos.append(sine_pos(x, self.d // 2).flatten(2).permute(2, 0, 1))
            src.append((x.flatten(2) + self.level_embed.weight[i][None, :, None]).permute(2, 0, 1))
        b = src[0].shape[1]
        qpos = self.query_embed.weight.unsqueeze(1).repeat(1, b, 1)
        out = self.query_feat.weight.unsqueeze(1).repeat(1, b, 1)
        preds = []
        pred, am = self.heads_(out, mask_features, sizes[0])
        preds.append(pred)
        full_rows = partial_rows = 0
        for i in range(self.layers):
            lvl = i % 3
            full = am.sum(-1) == am.shape[-1]
            full_rows += int(full.sum())
            partial_rows += int(((am.sum(-1) > 0) & ~full).sum())
            am[torch.where(full)] = False
            out = self.transformer_cross_attention_layers[i](out, src[lvl], am, pos[lvl], qpos)
            out = self.transformer_self_attention_layers[i](out, qpos)
            out = self.transformer_ffn_layers[i](out)
            pred, am = self.heads_(out, mask_features, sizes[(i + 1) % 3])
            preds.append(pred)
        return preds, full_rows, partial_rows


def decoder_fixtures():
    torch.manual_seed(4)
    d, heads, ffn, layers, queries, classes, mask_dim, dp = 16, 2, 32, 4, 6, 3, 8, 4
    dec = Decoder(d, heads, ffn, layers, queries, classes, mask_dim, dp)
    randomize(dec, 0.4)
    b = 2
    xs = [torch.randn(b, d, 2, 3), torch.randn(b, d, 4, 6), torch.randn(b, d, 8, 12)]
    # a shared positive component makes some queries' masks negative everywhere, so the decoder's
    # 'unmask rows with nothing to attend to' rule is exercised as well as ordinary masking
    mf = torch.randn(b, mask_dim, 16, 24) * 0.5 + 0.5
    leaves = [t.clone().requires_grad_(True) for t in xs + [mf]]
    preds, full_rows, partial_rows = dec(leaves[:3], leaves[3])
    print(f'decoder: {full_rows} fully masked attention rows unmasked, {partial_rows} partly masked')
    # gradients of sum(output * R) over every output of every stage
    rs = [[torch.randn_like(t) for t in p] for p in preds]
    sum((t * r).sum() for p, rp in zip(preds, rs) for t, r in zip(p, rp)).backward()
    io = {'x0': xs[0], 'x1': xs[1], 'x2': xs[2], 'mask_features': mf, 'full_rows': torch.tensor(full_rows)}
    for i, (names, p, rp) in enumerate(zip([('logits', 'masks', 'point', 'box')] * len(preds), preds, rs)):
        for n, t, r in zip(names, p, rp):
            io[f'{n}{i}'] = t.detach()
            io[f'r_{n}{i}'] = r
    for i, t in enumerate(leaves):
        io[f'grad_in{i}'] = t.grad
    for name, prm in dec.named_parameters():
        io[f'grad.{name}'] = prm.grad
    save({'state': dec.state_dict(), 'io': io}, 'decoder.pth')


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    resnet_fixtures()
    msdeform_fixtures()
    pixel_decoder_fixtures()
    small_fixtures()
    decoder_fixtures()
