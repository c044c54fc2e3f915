# Generates functional-expected.json: reference outputs of torch 1.13 (Debian python3-torch, the same
# libtorch the addon links) for test/engine/functional.test.ts. Inputs are deterministic:
# seq(shape, a) = sin(arange(numel) * a).reshape(shape), which the TS test rebuilds with the engine.
# Run: /usr/bin/python3 test/engine/reference/gen_functional.py && npx prettier --write test/engine/reference
import json, math, os
import torch
import torch.nn.functional as F

def seq(shape, a):
    n = math.prod(shape)
    return torch.sin(torch.arange(n, dtype=torch.float32) * a).reshape(shape)

def out(t):
    return {"shape": list(t.shape), "values": [round(float(v), 7) for v in t.detach().reshape(-1).tolist()]}

R = {}
x = seq([1, 2, 5, 5], 0.37)
w = seq([3, 2, 3, 3], 0.53)
b = seq([3], 0.91)
R["conv2d"] = out(F.conv2d(x, w, b, stride=2, padding=1))
R["conv2d_groups_dil"] = out(F.conv2d(seq([1, 4, 6, 6], 0.21), seq([4, 2, 3, 3], 0.43), None, padding=2, dilation=2, groups=2))
R["conv_transpose2d"] = out(F.conv_transpose2d(seq([1, 2, 3, 3], 0.29), seq([2, 3, 3, 3], 0.61), seq([3], 0.7), stride=2, padding=1, output_padding=1))
img = seq([1, 1, 3, 4], 0.77)
R["interp_bilinear_ac_false"] = out(F.interpolate(img, size=(5, 7), mode="bilinear", align_corners=False))
R["interp_bilinear_ac_true"] = out(F.interpolate(img, size=(5, 7), mode="bilinear", align_corners=True))
R["interp_bilinear_scale"] = out(F.interpolate(img, scale_factor=1.5, mode="bilinear", align_corners=False))
R["interp_nearest"] = out(F.interpolate(img, size=(5, 7), mode="nearest"))
R["interp_bicubic_ac_true"] = out(F.interpolate(img, size=(6, 8), mode="bicubic", align_corners=True))
R["interp_bilinear_aa"] = out(F.interpolate(seq([1, 1, 8, 8], 0.33), size=(3, 3), mode="bilinear", align_corners=False, antialias=True))
grid = seq([1, 2, 3, 2], 0.45) * 1.2
R["grid_sample_bilinear"] = out(F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False))
R["grid_sample_nearest_border_ac"] = out(F.grid_sample(img, grid, mode="nearest", padding_mode="border", align_corners=True))
logits = seq([4, 5], 0.83) * 3
R["softmax"] = out(F.softmax(logits, dim=1))
R["log_softmax"] = out(F.log_softmax(logits, dim=0))
R["gelu"] = out(F.gelu(seq([7], 0.9) * 3))
target = torch.tensor([1, 4, -100, 0])
cw = torch.tensor([0.5, 1.0, 2.0, 1.5, 3.0])
R["ce_weight_ignore"] = out(F.cross_entropy(logits, target, weight=cw, ignore_index=-100))
R["ce_none"] = out(F.cross_entropy(logits, torch.tensor([1, 4, 2, 0]), reduction="none"))
R["ce_smooth"] = out(F.cross_entropy(logits, torch.tensor([1, 4, 2, 0]), label_smoothing=0.1))
R["ce_spatial_ignore"] = out(F.cross_entropy(seq([2, 3, 2, 2], 0.4) * 2, torch.tensor([[[0, 1], [2, 255]], [[255, 2], [1, 0]]]), ignore_index=255))
bl = seq([3, 4], 0.71) * 4
bt = (seq([3, 4], 1.3) > 0).float()
R["bce_logits"] = out(F.binary_cross_entropy_with_logits(bl, bt))
R["bce_logits_posw"] = out(F.binary_cross_entropy_with_logits(bl, bt, pos_weight=torch.tensor([1.0, 2.0, 0.5, 3.0])))
lp = F.log_softmax(seq([3, 4], 0.61), dim=1)
tp = F.softmax(seq([3, 4], 0.19) * 2, dim=1)
R["kl_batchmean"] = out(F.kl_div(lp, tp, reduction="batchmean"))
R["kl_none"] = out(F.kl_div(lp, tp, reduction="none"))
R["layer_norm"] = out(F.layer_norm(seq([2, 3, 4], 0.5), [4], seq([4], 0.3), seq([4], 0.8)))
R["group_norm"] = out(F.group_norm(seq([2, 4, 3, 3], 0.25), 2, seq([4], 0.3), seq([4], 0.8)))
R["max_pool"] = out(F.max_pool2d(seq([1, 2, 5, 5], 0.37), 3, stride=2, padding=1))
R["avg_pool_ceil"] = out(F.avg_pool2d(seq([1, 2, 5, 5], 0.37), 2, ceil_mode=True))
R["adaptive_avg"] = out(F.adaptive_avg_pool2d(seq([1, 2, 5, 7], 0.37), (2, 3)))
R["interp_area"] = out(F.interpolate(seq([1, 2, 6, 9], 0.37), size=(4, 5), mode="area"))
R["interp_nearest_exact"] = out(F.interpolate(img, size=(5, 7), mode="nearest-exact"))
R["interp_bicubic_ac_false"] = out(F.interpolate(img, size=(6, 8), mode="bicubic", align_corners=False))
R["grid_sample_bicubic_reflection"] = out(F.grid_sample(img, grid, mode="bicubic", padding_mode="reflection", align_corners=False))
R["pad_reflect"] = out(F.pad(img, (2, 1, 1, 2), mode="reflect"))
R["pad_replicate"] = out(F.pad(img, (1, 2, 2, 0), mode="replicate"))
R["pad_constant"] = out(F.pad(img, (1, 0, 0, 1), value=-2.0))
R["conv1d"] = out(F.conv1d(seq([2, 3, 7], 0.3), seq([4, 3, 3], 0.7), seq([4], 0.2), stride=2, padding=1))
mp, mi = F.max_pool2d(seq([1, 2, 5, 5], 0.37), 2, return_indices=True)
R["max_pool_values"] = out(mp)
R["max_pool_indices"] = out(mi)
R["adaptive_max"] = out(F.adaptive_max_pool2d(seq([1, 2, 5, 7], 0.37), (2, 3)))
a, b2 = seq([3, 4], 0.3) * 2, seq([3, 4], 0.7)
R["smooth_l1"] = out(F.smooth_l1_loss(a, b2, beta=0.5))
R["huber"] = out(F.huber_loss(a, b2, delta=0.7))
R["mse_sum"] = out(F.mse_loss(a, b2, reduction="sum"))
R["l1_none"] = out(F.l1_loss(a, b2, reduction="none"))
R["nll_weight"] = out(F.nll_loss(F.log_softmax(logits, 1), torch.tensor([1, 4, 2, 0]), weight=cw))
R["bce_probs"] = out(F.binary_cross_entropy(torch.sigmoid(bl), bt, weight=torch.tensor([1.0, 2.0, 0.5, 3.0])))
R["ce_prob_targets"] = out(F.cross_entropy(logits, F.softmax(seq([4, 5], 0.17), 1)))
with open(os.path.join(os.path.dirname(__file__), "functional-expected.json"), "w") as f:
    json.dump(R, f)
print(len(R), "cases")
