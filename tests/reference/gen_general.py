#!/usr/bin/python3
"""Writes tests/reference/fixtures/general.json: PyTorch reference values for the general ops
(views and shapes, elementwise math and activations, reductions, batched matmul, layer/group norm,
embedding and the losses).

Run with Debian's torch (CPU): /usr/bin/python3 tests/reference/gen_general.py

Each case is {"op": the key tests/test_core_general.cpp maps to an Ember call, "params": plain
arguments, "inputs": tensors, "y": the output, "gy": upstream gradient, "grads": d sum(y * gy) / d
input (null for inputs without a gradient)}. Float inputs are float32 values; the reference is
computed in float64 from them and rounded to float32, as gen_ops.py does. An op that returns several
tensors (split, chunk) is fixed to one here and in the test: cat of the flattened pieces, piece i
scaled by i + 1.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_ops import randn32, short_float, upstream32  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "general.json")
SEED = 20241130
cases = {}


def tensor_json(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.uint8, torch.bool):
        name = {torch.int64: "int64", torch.uint8: "uint8", torch.bool: "bool"}[t.dtype]
        return {"dtype": name, "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    data = t.to(torch.float32).reshape(-1).numpy()
    return {"dtype": "float32", "shape": list(t.shape), "data": [short_float(v) for v in data]}


def pieces(ps):
    return torch.cat([p.reshape(-1) * (i + 1) for i, p in enumerate(ps)])


def add(name, op, fn, inputs, nograd=(), **params):
    """inputs: float64 tensors (holding float32 values) get gradients, except those listed in
    nograd (class weights); integer and bool ones do not."""
    assert name not in cases, name
    leaves = [t.clone().requires_grad_(t.is_floating_point() and i not in nograd) for i, t in enumerate(inputs)]
    y = fn(*leaves)
    case = {"op": op, "params": params, "inputs": [tensor_json(t) for t in leaves], "y": tensor_json(y)}
    live = [t for t in leaves if t.requires_grad]
    if y.is_floating_point() and live and y.requires_grad:
        gy = upstream32(*(y.shape or [1])).reshape(y.shape)
        gs = torch.autograd.grad(y, live, grad_outputs=gy, allow_unused=True)
        it = iter(gs)
        grads = []
        for t in leaves:
            g = next(it) if t.requires_grad else None
            grads.append(tensor_json(g if g is not None else torch.zeros_like(t)) if t.requires_grad else None)
        case["gy"] = tensor_json(gy)
        case["grads"] = grads
    cases[name] = case


def r(*shape, scale=1.0, shift=0.0):
    return randn32(*(shape or [1]), scale=scale, shift=shift).reshape(shape)


def pos(*shape):
    return (torch.rand(*(shape or [1]), dtype=torch.float32) * 1.5 + 0.5).to(torch.float64).reshape(shape)


def idx(high, *shape):
    return torch.randint(0, high, shape, dtype=torch.int64)


def views():
    add("transpose/3d_0_2", "transpose", lambda x: x.transpose(0, 2), [r(2, 3, 4)], dim0=0, dim1=2)
    add("transpose/negative_dims", "transpose", lambda x: x.transpose(-1, -3), [r(2, 3, 4)], dim0=-1, dim1=-3)
    add("transpose/size1_dims", "transpose", lambda x: x.transpose(0, 1), [r(1, 3, 1)], dim0=0, dim1=1)
    add("permute/201", "permute", lambda x: x.permute(2, 0, 1), [r(2, 3, 4)], dims=[2, 0, 1])
    add("permute/4d_negative", "permute", lambda x: x.permute(-1, 1, 0, 2), [r(2, 1, 3, 2)], dims=[-1, 1, 0, 2])
    add("permute/empty_dim", "permute", lambda x: x.permute(1, 0, 2), [r(2, 0, 3)], dims=[1, 0, 2])
    add("t/2d", "t", lambda x: x.t(), [r(3, 4)])
    add("t/1d", "t", lambda x: x.t(), [r(5)])
    add("slice/dim1", "slice", lambda x: x[:, 1:3], [r(3, 4)], dim=1, start=1, end=3, step=1)
    add("slice/step2_negative_start", "slice", lambda x: x[..., -4::2], [r(2, 3, 5)], dim=-1, start=-4,
        end=2**62, step=2)
    add("slice/dim0_view", "slice", lambda x: x[1:], [r(3, 2)], dim=0, start=1, end=100, step=1)
    add("slice/empty", "slice", lambda x: x[:, 2:2], [r(3, 4)], dim=1, start=2, end=2, step=1)
    add("narrow/dim1", "narrow", lambda x: x.narrow(1, 1, 2), [r(2, 4, 3)], dim=1, start=1, length=2)
    add("narrow/negative_dim", "narrow", lambda x: x.narrow(-1, 0, 1), [r(2, 3)], dim=-1, start=0, length=1)
    add("select/dim1_negative_index", "select", lambda x: x.select(1, -1), [r(2, 3, 2)], dim=1, index=-1)
    add("cat/dim1", "cat", lambda a, b: torch.cat([a, b], 1), [r(2, 3), r(2, 1)], dim=1)
    add("cat/dim_minus1_3d", "cat", lambda a, b: torch.cat([a, b], -1), [r(2, 1, 2), r(2, 1, 3)], dim=-1)
    add("cat/with_empty", "cat", lambda a, b: torch.cat([a, b], 1), [r(2, 0), r(2, 2)], dim=1)
    add("cat/dim0", "cat", lambda a, b: torch.cat([a, b], 0), [r(1, 3), r(2, 3)], dim=0)
    add("stack/dim0", "stack", lambda a, b: torch.stack([a, b], 0), [r(2, 3), r(2, 3)], dim=0)
    add("stack/dim_minus1", "stack", lambda a, b: torch.stack([a, b], -1), [r(2, 3), r(2, 3)], dim=-1)
    add("split/size2_dim1", "split", lambda x: pieces(torch.split(x, 2, 1)), [r(2, 5)], split_size=2, dim=1)
    add("split/sizes_dim0", "split_sizes", lambda x: pieces(torch.split(x, [1, 3], 0)), [r(4, 2)], sizes=[1, 3],
        dim=0)
    add("chunk/3_of_7", "chunk", lambda x: pieces(torch.chunk(x, 3, -1)), [r(2, 7)], chunks=3, dim=-1)
    add("chunk/4_of_6", "chunk", lambda x: pieces(torch.chunk(x, 4, 0)), [r(6, 2)], chunks=4, dim=0)
    add("squeeze/all", "squeeze", lambda x: x.squeeze(), [r(1, 3, 1, 2)])
    add("squeeze/dim", "squeeze_dim", lambda x: x.squeeze(-2), [r(3, 1, 2)], dim=-2)
    add("unsqueeze/negative", "unsqueeze", lambda x: x.unsqueeze(-1), [r(3, 2)], dim=-1)
    add("expand/new_and_size1_dims", "expand", lambda x: x.expand(2, 3, 4), [r(3, 1)], shape=[2, 3, 4])
    add("expand/minus1", "expand", lambda x: x.expand(-1, 4), [r(3, 1)], shape=[-1, 4])
    add("index_select/dim1_repeats", "index_select", lambda x, i: x.index_select(1, i),
        [r(2, 4, 3), torch.tensor([2, 0, 2])], dim=1)
    add("index_select/dim0", "index_select", lambda x, i: x.index_select(0, i), [r(5, 2), torch.tensor([4, 1])],
        dim=0)
    add("gather/dim1", "gather", lambda x, i: x.gather(1, i), [r(3, 4), idx(4, 3, 2)], dim=1)
    add("gather/dim0_3d", "gather", lambda x, i: x.gather(0, i), [r(3, 2, 2), idx(3, 2, 2, 2)], dim=0)
    add("gather/smaller_index", "gather", lambda x, i: x.gather(-1, i), [r(3, 4), idx(4, 2, 3)], dim=-1)
    for op in ("add", "sub", "mul", "div"):
        fn = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}[op]
        b = (lambda *s: pos(*s)) if op == "div" else r
        add(f"{op}/broadcast_both", op, fn, [r(2, 1, 4), b(3, 1)])
        add(f"{op}/empty", op, fn, [r(0, 3), b(3)])
        add(f"{op}/scalar_tensor", op, fn, [r(2, 3), b()])
        add(f"{op}/size1_lead", op, fn, [r(1, 3), b(4, 1, 1)])


def elementwise():
    add("exp/basic", "exp", torch.exp, [r(3, 4)])
    add("log/basic", "log", torch.log, [pos(3, 4)])
    add("sqrt/basic", "sqrt", torch.sqrt, [pos(2, 3)])
    add("pow/tensor_broadcast", "pow", torch.pow, [pos(2, 3), r(3)])
    add("pow/scalar_2.5", "pow_scalar", lambda x: torch.pow(x, 2.5), [pos(2, 3)], exponent=2.5)
    add("pow/scalar_3_negative_base", "pow_scalar", lambda x: torch.pow(x, 3.0), [r(2, 3)], exponent=3.0)
    add("abs/basic", "abs", torch.abs, [r(3, 4)])
    add("clamp/both", "clamp", lambda x: torch.clamp(x, -0.5, 0.7), [r(3, 4)], min=-0.5, max=0.7)
    add("clamp/min_only", "clamp_min", lambda x: torch.clamp(x, min=0.1), [r(3, 4)], min=0.1)
    add("maximum/broadcast", "maximum", torch.maximum, [r(2, 3), r(3)])
    add("minimum/broadcast", "minimum", torch.minimum, [r(2, 1), r(3)])
    add("where/broadcast", "where", torch.where, [r(2, 3) > 0, r(2, 3), r(3)])
    for op in ("eq", "ne", "lt", "le", "gt", "ge"):
        a = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], dtype=torch.float64)
        add(f"{op}/broadcast", op, getattr(torch, op), [a, torch.tensor([2.0, 2.0, 1.0], dtype=torch.float64)])
        add(f"{op}/scalar", op + "_scalar", lambda x, op=op: getattr(torch, op)(x, 2.0), [a], other=2.0)
    add("sigmoid/wide", "sigmoid", torch.sigmoid, [r(3, 4, scale=5.0)])
    add("tanh/basic", "tanh", torch.tanh, [r(3, 4, scale=2.0)])
    for d in (0, 1, -1):
        add(f"softmax/3d_dim{d}", "softmax", lambda x, d=d: torch.softmax(x, d), [r(2, 3, 4)], dim=d)
        add(f"log_softmax/3d_dim{d}", "log_softmax", lambda x, d=d: torch.log_softmax(x, d), [r(2, 3, 4)], dim=d)
    add("softmax/1d", "softmax", lambda x: torch.softmax(x, 0), [r(5)], dim=0)
    add("softmax/size1_dim", "softmax", lambda x: torch.softmax(x, 1), [r(3, 1)], dim=1)
    add("leaky_relu/0.2", "leaky_relu", lambda x: F.leaky_relu(x, 0.2), [r(3, 4)], negative_slope=0.2)
    add("leaky_relu/default", "leaky_relu", lambda x: F.leaky_relu(x), [r(3, 4)], negative_slope=0.01)
    add("gelu/exact", "gelu", lambda x: F.gelu(x), [r(3, 4, scale=2.0)], approximate="none")
    add("gelu/tanh", "gelu", lambda x: F.gelu(x, approximate="tanh"), [r(3, 4, scale=2.0)], approximate="tanh")
    add("softplus/wide", "softplus", F.softplus, [r(3, 4, scale=10.0)])
    ia = torch.tensor([[5, -7, 2**40], [0, 3, -1]], dtype=torch.int64)
    ib = torch.tensor([3, -2, 5], dtype=torch.int64)
    for op in ("add", "sub", "mul"):
        add(f"{op}/int64_broadcast", op, getattr(torch, op), [ia, ib])
    add("div/int64_true_division", "div", torch.div, [ia, ib])
    values = torch.tensor([-2.5, -1.0, 0.0, 0.5, 1.0, 3.7, 255.0, 300.75], dtype=torch.float64)
    names = {"float32": torch.float32, "float64": torch.float64, "int64": torch.int64, "uint8": torch.uint8,
             "bool": torch.bool}
    for src in names:
        v = values.abs() if src == "uint8" else values  # torch's negative float -> uint8 is undefined
        x = v.to(names[src])
        for dst in names:
            if src == dst:
                continue
            if src in ("float32", "float64") and dst == "uint8":
                x = values.abs().to(names[src])
            add(f"to/{src}_to_{dst}", "to", lambda t, dst=dst: t.to(names[dst]), [x.detach()], nograd=(0,), src=src,
                dtype=dst)
            x = v.to(names[src])


def reductions():
    x = r(2, 3, 4)
    add("sum/dims_0_2", "sum_dims", lambda t: t.sum([0, 2]), [x], dims=[0, 2], keepdim=False)
    add("sum/dims_keepdim_negative", "sum_dims", lambda t: t.sum([-1, 1], keepdim=True), [x], dims=[-1, 1],
        keepdim=True)
    add("sum/dims_empty_means_all", "sum_dims", lambda t: t.sum([]), [x], dims=[], keepdim=False)
    add("mean/dims_1_2", "mean_dims", lambda t: t.mean([1, 2]), [x], dims=[1, 2], keepdim=False)
    add("mean/dims_keepdim", "mean_dims", lambda t: t.mean([0], keepdim=True), [x], dims=[0], keepdim=True)
    for op in ("max", "min"):
        fn = getattr(torch, op)
        add(f"{op}/values_dim1", op + "_values", lambda t, fn=fn: fn(t, 1)[0], [x], dim=1, keepdim=False)
        add(f"{op}/values_keepdim_negative", op + "_values", lambda t, fn=fn: fn(t, -1, keepdim=True)[0], [x],
            dim=-1, keepdim=True)
        add(f"{op}/indices_dim0", op + "_indices", lambda t, fn=fn: fn(t, 0)[1], [x], dim=0, keepdim=False)
        add(f"{op}/all", op + "_all", lambda t, fn=fn: fn(t), [x])
    add("argmax/keepdim", "argmax", lambda t: torch.argmax(t, 1, keepdim=True), [x], dim=1, keepdim=True)
    add("argmin/dim_minus1", "argmin", lambda t: torch.argmin(t, -1), [x], dim=-1, keepdim=False)
    for c in (0, 1, 2):
        add(f"var/correction{c}", "var", lambda t, c=c: torch.var(t, [0, 2], correction=c), [x], dims=[0, 2],
            correction=c, keepdim=False)
    add("var/all", "var", lambda t: torch.var(t), [x], dims=[], correction=1, keepdim=False)
    add("std/keepdim", "std", lambda t: torch.std(t, [1], correction=1, keepdim=True), [x], dims=[1], correction=1,
        keepdim=True)
    add("logsumexp/dim1", "logsumexp", lambda t: torch.logsumexp(t, [1]), [r(2, 3, 4, scale=30.0)], dims=[1],
        keepdim=False)
    add("logsumexp/dims_keepdim", "logsumexp", lambda t: torch.logsumexp(t, [0, 2], keepdim=True), [x], dims=[0, 2],
        keepdim=True)


def matrices():
    add("matmul/3d_3d", "matmul", torch.matmul, [r(2, 3, 4), r(2, 4, 5)])
    add("matmul/4d_broadcast", "matmul", torch.matmul, [r(2, 1, 3, 4), r(3, 4, 2)])
    add("matmul/2d_3d", "matmul", torch.matmul, [r(3, 4), r(2, 4, 2)])
    add("matmul/3d_2d", "matmul", torch.matmul, [r(2, 3, 4), r(4, 2)])
    add("matmul/1d_3d", "matmul", torch.matmul, [r(4), r(2, 4, 3)])
    add("matmul/3d_1d", "matmul", torch.matmul, [r(2, 3, 4), r(4)])
    add("matmul/1d_1d", "matmul", torch.matmul, [r(4), r(4)])
    add("matmul/2d_1d", "matmul", torch.matmul, [r(3, 4), r(4)])
    add("matmul/empty_k", "matmul", torch.matmul, [r(2, 3, 0), r(2, 0, 2)])
    add("bmm/basic", "bmm", torch.bmm, [r(3, 2, 4), r(3, 4, 5)])
    add("linear/batch_dims", "linear", F.linear, [r(2, 3, 5), r(4, 5), r(4)])
    add("linear/1d_input", "linear", F.linear, [r(5), r(4, 5), r(4)])


def norms_and_losses():
    add("layer_norm/affine", "layer_norm", lambda x, w, b: F.layer_norm(x, [4], w, b),
        [r(2, 3, 4), r(4, shift=1.0), r(4)], normalized_shape=[4])
    add("layer_norm/2dims_no_affine", "layer_norm_plain", lambda x: F.layer_norm(x, [3, 4], eps=1e-3),
        [r(2, 3, 4, scale=3.0, shift=2.0)], normalized_shape=[3, 4], eps=1e-3)
    for g in (1, 3, 6):
        add(f"group_norm/groups{g}", "group_norm", lambda x, w, b, g=g: F.group_norm(x, g, w, b),
            [r(2, 6, 2, 3), r(6, shift=1.0), r(6)], num_groups=g)
    add("group_norm/3d_input", "group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [r(3, 4, 5), r(4), r(4)],
        num_groups=2)
    emb_in = torch.tensor([[1, 3, 1], [0, 4, 1]])
    add("embedding/padding_idx", "embedding", lambda i, w: F.embedding(i, w, padding_idx=1), [emb_in, r(5, 4)],
        padding_idx=1)
    add("embedding/no_padding", "embedding_plain", lambda i, w: F.embedding(i, w), [emb_in, r(5, 4)])
    add("embedding/negative_padding_idx", "embedding", lambda i, w: F.embedding(i, w, padding_idx=-1),
        [torch.tensor([4, 2, 4]), r(5, 3)], padding_idx=-1)
    for red in ("none", "mean", "sum"):
        add(f"mse_loss/{red}", "mse_loss", lambda a, b, red=red: F.mse_loss(a, b, reduction=red),
            [r(3, 4), r(3, 4)], reduction=red)
        add(f"l1_loss/{red}", "l1_loss", lambda a, b, red=red: F.l1_loss(a, b, reduction=red), [r(3, 4), r(3, 4)],
            reduction=red)
        p = (torch.rand(3, 4, dtype=torch.float32) * 0.9 + 0.05).to(torch.float64)
        t = torch.rand(3, 4, dtype=torch.float32).to(torch.float64)
        add(f"binary_cross_entropy/{red}_weight", "bce", lambda a, b, w, red=red: F.binary_cross_entropy(
            a, b, w, reduction=red), [p, t, pos(4)], nograd=(2,), reduction=red)
        add(f"bce_with_logits/{red}_pos_weight", "bce_logits", lambda a, b, w, pw, red=red:
            F.binary_cross_entropy_with_logits(a, b, w, reduction=red, pos_weight=pw),
            [r(3, 4, scale=3.0), t, pos(4), pos(4)], nograd=(2, 3), reduction=red)
    add("bce_with_logits/plain", "bce_logits_plain", F.binary_cross_entropy_with_logits,
        [r(3, 4, scale=20.0), (torch.rand(3, 4) > 0.5).to(torch.float64)])
    # exact 0 and 1 probabilities: the clamped logs keep the loss finite
    add("binary_cross_entropy/saturated", "bce_plain", F.binary_cross_entropy,
        [torch.tensor([0.0, 1.0, 0.3], dtype=torch.float64), torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64)], nograd=(0, 1))
    tgt = torch.tensor([2, -100, 0, 3, 3])
    for red in ("none", "mean", "sum"):
        add(f"nll_loss/weight_ignore_{red}", "nll_loss", lambda x, t, w, red=red: F.nll_loss(
            x, t, w, ignore_index=-100, reduction=red), [torch.log_softmax(r(5, 4), 1), tgt, pos(4)], nograd=(2,),
            ignore_index=-100, reduction=red, label_smoothing=0.0)
        add(f"cross_entropy/smoothing_weight_{red}", "cross_entropy", lambda x, t, w, red=red: F.cross_entropy(
            x, t, w, ignore_index=-100, reduction=red, label_smoothing=0.1), [r(5, 4), tgt, pos(4)], nograd=(2,),
            ignore_index=-100, reduction=red, label_smoothing=0.1)
        add(f"cross_entropy/smoothing_{red}", "cross_entropy_noweight", lambda x, t, red=red: F.cross_entropy(
            x, t, reduction=red, label_smoothing=0.25), [r(5, 4), tgt], ignore_index=-100, reduction=red,
            label_smoothing=0.25)
    add("nll_loss/custom_ignore_index", "nll_loss_noweight", lambda x, t: F.nll_loss(x, t, ignore_index=1),
        [torch.log_softmax(r(4, 3), 1), torch.tensor([1, 0, 2, 1])], ignore_index=1, reduction="mean",
        label_smoothing=0.0)
    add("cross_entropy/kdim", "cross_entropy", lambda x, t, w: F.cross_entropy(x, t, w, label_smoothing=0.05),
        [r(2, 3, 2, 2), idx(3, 2, 2, 2), pos(3)], nograd=(2,), ignore_index=-100, reduction="mean", label_smoothing=0.05)
    add("cross_entropy/kdim_none", "cross_entropy_noweight", lambda x, t: F.cross_entropy(x, t, reduction="none"),
        [r(2, 3, 4), idx(3, 2, 4)], ignore_index=-100, reduction="none", label_smoothing=0.0)
    add("cross_entropy/unbatched", "cross_entropy_noweight", lambda x, t: F.cross_entropy(x, t),
        [r(5), torch.tensor(3)], ignore_index=-100, reduction="mean", label_smoothing=0.0)
    add("cross_entropy/plain_mean", "cross_entropy_noweight", lambda x, t: F.cross_entropy(x, t),
        [r(4, 6), idx(6, 4)], ignore_index=-100, reduction="mean", label_smoothing=0.0)


def windows():
    add("conv2d/dilation2", "conv2d", lambda x, w, b: F.conv2d(x, w, b, 1, 1, 2), [r(2, 2, 6, 6), r(3, 2, 3, 3), r(3)],
        stride=[1, 1], padding=[1, 1], dilation=[2, 2], groups=1)
    add("conv2d/groups2_asym_padding", "conv2d", lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 0), 1, 2),
        [r(1, 4, 5, 6), r(6, 2, 3, 2), r(6)], stride=[2, 1], padding=[1, 0], dilation=[1, 1], groups=2)
    add("conv2d/depthwise", "conv2d", lambda x, w, b: F.conv2d(x, w, b, 1, 1, 1, 3), [r(2, 3, 4, 4), r(3, 1, 3, 3), r(3)],
        stride=[1, 1], padding=[1, 1], dilation=[1, 1], groups=3)
    add("conv2d/dilation_rect_no_bias", "conv2d_nobias", lambda x, w: F.conv2d(x, w, None, 1, 0, (1, 2)),
        [r(1, 2, 4, 7), r(2, 2, 2, 3)], stride=[1, 1], padding=[0, 0], dilation=[1, 2], groups=1)
    add("conv1d/basic", "conv1d", lambda x, w, b: F.conv1d(x, w, b, 1, 1), [r(2, 3, 7), r(4, 3, 3), r(4)], stride=1,
        padding=1, dilation=1, groups=1)
    add("conv1d/stride_dilation_groups", "conv1d", lambda x, w, b: F.conv1d(x, w, b, 2, 2, 2, 2),
        [r(2, 4, 9), r(6, 2, 3), r(6)], stride=2, padding=2, dilation=2, groups=2)
    add("max_pool2d/dilation2", "max_pool2d", lambda x: F.max_pool2d(x, 2, 1, 0, 2), [r(2, 2, 5, 5)],
        kernel=[2, 2], stride=[1, 1], padding=[0, 0], dilation=[2, 2], ceil_mode=False)
    add("max_pool2d/ceil_mode", "max_pool2d", lambda x: F.max_pool2d(x, 2, 2, 0, 1, ceil_mode=True), [r(1, 2, 5, 7)],
        kernel=[2, 2], stride=[2, 2], padding=[0, 0], dilation=[1, 1], ceil_mode=True)
    add("max_pool2d/ceil_pad_3d_input", "max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, 1, ceil_mode=True),
        [r(2, 6, 6)], kernel=[3, 3], stride=[2, 2], padding=[1, 1], dilation=[1, 1], ceil_mode=True)
    for cip in (True, False):
        for ceil in (False, True):
            add(f"avg_pool2d/k3_s2_p1_ceil{int(ceil)}_cip{int(cip)}", "avg_pool2d",
                lambda x, ceil=ceil, cip=cip: F.avg_pool2d(x, 3, 2, 1, ceil, cip), [r(2, 2, 6, 7)], kernel=[3, 3],
                stride=[2, 2], padding=[1, 1], ceil_mode=ceil, count_include_pad=cip)
    add("avg_pool2d/k2", "avg_pool2d", lambda x: F.avg_pool2d(x, 2), [r(1, 3, 4, 4)], kernel=[2, 2], stride=[2, 2],
        padding=[0, 0], ceil_mode=False, count_include_pad=True)
    add("avg_pool2d/rect_3d", "avg_pool2d", lambda x: F.avg_pool2d(x, (2, 3), (1, 2)), [r(2, 4, 7)], kernel=[2, 3],
        stride=[1, 2], padding=[0, 0], ceil_mode=False, count_include_pad=True)
    add("adaptive_avg_pool2d/global", "adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), [r(2, 3, 4, 5)],
        output_size=[1, 1])
    add("adaptive_avg_pool2d/uneven", "adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
        [r(1, 2, 7, 5)], output_size=[3, 2])
    add("adaptive_avg_pool2d/upsample_3d", "adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (4, 3)),
        [r(2, 3, 2)], output_size=[4, 3])


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    views()
    elementwise()
    reductions()
    matrices()
    norms_and_losses()
    windows()
    with open(OUT, "w") as f:
        f.write("{\n")
        f.write(",\n".join(json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in cases.items()))
        f.write("\n}\n")
    print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {OUT} (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
