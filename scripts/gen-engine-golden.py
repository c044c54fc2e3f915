#!/usr/bin/python3
"""Writes the expected values for test/engine/modules-numeric.test.ts and test/engine/optim.test.ts.

Run once with Debian's python3-torch (the same libtorch the engine links):
    /usr/bin/python3 scripts/gen-engine-golden.py
It writes test/engine/modules-expected.json and test/engine/optim-expected.json. Every module's
weights, inputs and outputs are stored (float32 values as JSON numbers, exact), so the TypeScript
test loads the weights through loadStateDict (checking PyTorch's key names on the way) and compares
outputs and gradients; nothing depends on the two sides' random generators agreeing.
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arr(t):
    t = t.detach()
    return {'shape': list(t.shape), 'dtype': str(t.dtype).replace('torch.', ''), 'data': t.flatten().tolist()}


def state(m):
    return {k: arr(v) for k, v in m.state_dict().items()}


def grads(m, names):
    params = dict(m.named_parameters())
    return {n: arr(params[n].grad) for n in names}


def case(module, inputs, out, weight_for_loss=None, grad_params=(), extra=None):
    """A forward (and, with weight_for_loss, backward of sum(out * R)) of one module."""
    c = {'state': state(module), 'inputs': [arr(x) for x in inputs], 'output': arr(out)}
    if weight_for_loss is not None:
        c['loss_weight'] = arr(weight_for_loss)
        c['input_grad'] = arr(inputs[0].grad)
        c['param_grads'] = grads(module, grad_params)
    if extra:
        c.update(extra)
    return c


def run_with_grad(module, x, fwd=None):
    x = x.clone().requires_grad_(True)
    out = module(x) if fwd is None else fwd(x)
    r = torch.randn_like(out)
    (out * r).sum().backward()
    return x, out, r


class LayerNorm2d(nn.Module):
    """SAM's channel LayerNorm for (B, C, H, W): normalises over C at each pixel."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLP(nn.Module):
    """SAM's / DETR's MLP: num_layers Linear layers, ReLU between them."""

    def __init__(self, i, h, o, n, sigmoid_output=False):
        super().__init__()
        dims = [i] + [h] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, [h] * (n - 1) + [o]))
        self.sigmoid_output = sigmoid_output

    def forward(self, x):
        for k, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if k < len(self.layers) - 1 else layer(x)
        return torch.sigmoid(x) if self.sigmoid_output else x


def perturb(m):
    """Moves norm affine parameters off their 1/0 init so the test sees them act."""
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith('weight') and p.dim() == 1:
                p.copy_(1 + 0.3 * torch.randn_like(p))
            elif n.endswith('bias') and p.dim() == 1:
                p.copy_(0.2 * torch.randn_like(p))


def modules_golden():
    torch.manual_seed(1234)
    out = {}

    m = nn.Linear(4, 3)
    x, y, r = run_with_grad(m, torch.randn(2, 5, 4))
    out['linear'] = case(m, [x], y, r, ['weight', 'bias'], {'args': [4, 3]})

    m = nn.Conv2d(2, 3, 3, stride=2, padding=1)
    x, y, r = run_with_grad(m, torch.randn(1, 2, 5, 5))
    out['conv2d'] = case(m, [x], y, r, ['weight', 'bias'], {'args': [2, 3, 3], 'opts': {'stride': 2, 'padding': 1}})

    m = nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2, bias=False)
    x, y, r = run_with_grad(m, torch.randn(1, 4, 4, 4))
    out['conv2d_grouped'] = case(
        m, [x], y, r, ['weight'], {'args': [4, 4, 3], 'opts': {'padding': 2, 'dilation': 2, 'groups': 2, 'bias': False}}
    )

    m = nn.ConvTranspose2d(3, 2, 2, stride=2)
    x, y, r = run_with_grad(m, torch.randn(1, 3, 3, 3))
    out['conv_transpose2d'] = case(m, [x], y, r, ['weight', 'bias'], {'args': [3, 2, 2], 'opts': {'stride': 2}})

    m = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1)
    x, y, r = run_with_grad(m, torch.randn(1, 2, 3, 3))
    out['conv_transpose2d_outpad'] = case(
        m, [x], y, r, ['weight'], {'args': [2, 2, 3], 'opts': {'stride': 2, 'padding': 1, 'outputPadding': 1}}
    )

    m = nn.BatchNorm2d(3)
    perturb(m)
    x = torch.randn(2, 3, 4, 4) * 2 + 1
    initial = state(m)
    y_train = m(x)
    after_train = state(m)
    m.eval()
    x2 = torch.randn(1, 3, 2, 2)
    y_eval = m(x2)
    out['batchnorm2d'] = {
        'args': [3],
        'state': initial,
        'inputs': [arr(x)],
        'output': arr(y_train),
        'state_after_train': after_train,
        'eval_input': arr(x2),
        'eval_output': arr(y_eval),
    }

    m = nn.GroupNorm(2, 4)
    perturb(m)
    x, y, r = run_with_grad(m, torch.randn(2, 4, 3, 3))
    out['groupnorm'] = case(m, [x], y, r, ['weight', 'bias'], {'args': [2, 4]})

    m = nn.LayerNorm(6)
    perturb(m)
    x, y, r = run_with_grad(m, torch.randn(2, 3, 6))
    out['layernorm'] = case(m, [x], y, r, ['weight', 'bias'], {'args': [6]})

    m = LayerNorm2d(3)
    perturb(m)
    x, y, r = run_with_grad(m, torch.randn(2, 3, 2, 2))
    out['layernorm2d'] = case(m, [x], y, r, ['weight', 'bias'], {'args': [3]})

    m = nn.Embedding(5, 3, padding_idx=1)
    idx = torch.tensor([[0, 1, 4], [4, 2, 1]])
    y = m(idx)
    out['embedding'] = {'args': [5, 3], 'opts': {'paddingIdx': 1}, 'state': state(m), 'inputs': [arr(idx)], 'output': arr(y)}

    m = MLP(4, 8, 2, 3, sigmoid_output=True)
    x, y, r = run_with_grad(m, torch.randn(3, 4))
    out['mlp'] = case(
        m, [x], y, r, ['layers.0.weight', 'layers.2.bias'], {'args': [4, 8, 2, 3], 'opts': {'sigmoidOutput': True}}
    )

    # MultiheadAttention, batch_first, with a key padding mask and an additive float attn mask.
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        m.in_proj_bias.copy_(0.1 * torch.randn(24))
        m.out_proj.bias.copy_(0.1 * torch.randn(8))
    q = torch.randn(2, 3, 8, requires_grad=True)
    k = torch.randn(2, 4, 8)
    v = torch.randn(2, 4, 8)
    kpm = torch.tensor([[False, False, False, True], [False, True, False, False]])
    am = 0.5 * torch.randn(3, 4)
    y, w = m(q, k, v, key_padding_mask=kpm, attn_mask=am)
    r = torch.randn_like(y)
    (y * r).sum().backward()
    out['mha'] = case(
        m,
        [q, k, v],
        y,
        r,
        ['in_proj_weight', 'out_proj.weight'],
        {
            'args': [8, 2],
            'opts': {'batchFirst': True},
            'key_padding_mask': arr(kpm),
            'attn_mask': arr(am),
            'weights': arr(w),
        },
    )

    # Sequence-first self-attention with a boolean attn mask (True = not allowed), no weights averaged.
    m = nn.MultiheadAttention(4, 2)
    x = torch.randn(3, 2, 4)
    bm = torch.tensor([[False, True, True], [False, False, True], [False, False, False]])
    y, w = m(x, x, x, attn_mask=bm, average_attn_weights=False)
    out['mha_seq_first'] = {
        'args': [4, 2],
        'state': state(m),
        'inputs': [arr(x)],
        'attn_mask': arr(bm),
        'output': arr(y),
        'weights': arr(w),
    }
    return out


def optim_problem():
    torch.manual_seed(7)
    w = torch.randn(3, 4)
    b = torch.randn(3)
    x = torch.randn(5, 4)
    t = torch.randn(5, 3)
    return w, b, x, t


def trajectory(make_opt, steps, w0, b0, x, t, schedule=None):
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = make_opt(w, b)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule) if schedule else None
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(x @ w.t() + b, t).backward()
        opt.step()
        if sched:
            sched.step()
        traj.append({'w': w.detach().flatten().tolist(), 'b': b.detach().flatten().tolist()})
    st = opt.state_dict()
    final_state = {}
    for idx, s in st['state'].items():
        final_state[str(idx)] = {k: (float(v) if k == 'step' else arr(v)) for k, v in s.items() if v is not None}
    return {'trajectory': traj, 'final_state': final_state}


def poly(it):
    # Same as polySchedule({maxIters: 10, power: 0.9, warmupIters: 2, warmupFactor: 0.1}) in TypeScript.
    w = 1.0 if it >= 2 else 0.1 * (1 - it / 2) + it / 2
    return w * math.pow(1 - min(it, 10) / 10, 0.9)


def optim_golden():
    w, b, x, t = optim_problem()
    steps = 6
    out = {'problem': {'w': arr(w), 'b': arr(b), 'x': arr(x), 't': arr(t)}, 'steps': steps, 'cases': {}}
    c = out['cases']
    c['adamw_groups'] = trajectory(
        lambda w, b: torch.optim.AdamW(
            [{'params': [w]}, {'params': [b], 'lr': 0.05, 'weight_decay': 0.0}], lr=0.1, weight_decay=0.1
        ),
        steps, w, b, x, t,
    )
    c['adamw_amsgrad'] = trajectory(
        lambda w, b: torch.optim.AdamW([w, b], lr=0.02, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.3, amsgrad=True),
        steps, w, b, x, t,
    )
    c['adamw_poly'] = trajectory(lambda w, b: torch.optim.AdamW([w, b], lr=0.1), steps, w, b, x, t, schedule=poly)
    c['sgd_plain'] = trajectory(lambda w, b: torch.optim.SGD([w, b], lr=0.1), steps, w, b, x, t)
    c['sgd_momentum'] = trajectory(
        lambda w, b: torch.optim.SGD([w, b], lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), steps, w, b, x, t
    )
    c['sgd_nesterov'] = trajectory(
        lambda w, b: torch.optim.SGD(
            [{'params': [w]}, {'params': [b], 'lr': 0.02}], lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3
        ),
        steps, w, b, x, t,
    )
    return out


def write(name, obj):
    path = os.path.join(ROOT, 'test', 'engine', name)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    os.replace(tmp, path)
    print(f'wrote {path} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    write('modules-expected.json', modules_golden())
    write('optim-expected.json', optim_golden())
