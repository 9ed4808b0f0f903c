#!/usr/bin/python3
"""Writes tests/reference/fixtures/ops.json: PyTorch reference values for Ember's ops.

Run with Debian's torch (CPU): /usr/bin/python3 tests/reference/gen_ops.py

Each case is an object with "op" (the Ember op it exercises), its plain parameters (stride,
padding, momentum, eps, training, ...) and its tensors as {"dtype", "shape", "data"} (flat,
row-major). Inputs are drawn in float32; the reference is then computed in float64 from those
exact float32 values and rounded to float32, so it is the correctly rounded answer for the inputs
Ember sees, not torch's own float32 rounding. `gy` is a fixed random upstream gradient: the
gradients stored are those of sum(y * gy), i.e. what y.backward(gy) leaves in each .grad.

Numbers are written as the shortest decimal that reads back as the same float32 (parsed as a
double, then cast to float32, as tests/helpers.cpp does); every one is checked to round-trip
before the file is written. This keeps the file to half the size of full double reprs.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "ops.json")
SEED = 20240501


def short_float(v):
    """Shortest decimal that reads back (as a double, then float32) as the float32 value v."""
    f32 = np.float32(v)
    if not np.isfinite(f32):
        raise ValueError(f"non-finite value {f32} in a fixture")
    d = float(str(f32))
    if np.float32(d) != f32:  # never seen; guards the file against a bad round trip
        d = float(f32)
    if np.float32(float(repr(d))) != f32:  # repr is what json writes
        raise ValueError(f"{f32!r} does not round-trip through {d!r}")
    return d


def tensor_json(t):
    t = t.detach()
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    data = t.to(torch.float32).reshape(-1).numpy()
    return {"dtype": "float32", "shape": list(t.shape), "data": [short_float(v) for v in data]}


def randn32(*shape, scale=1.0, shift=0.0):
    """float32 normal values, returned as float64 holding exactly those float32 values."""
    return (torch.randn(*shape, dtype=torch.float32) * scale + shift).to(torch.float32).to(torch.float64)


def upstream32(*shape):
    """A random upstream gradient on a 1/32 grid: exact in float32 and short in the file."""
    return (torch.randn(*shape, dtype=torch.float64) * 32).round() / 32


def distinct32(*shape, lo=-3.0, hi=3.0):
    """Distinct float32 values in [lo, hi] in random order: max-pool windows have no ties."""
    n = int(np.prod(shape))
    perm = torch.randperm(n).to(torch.float64)
    v = lo + (hi - lo) * (perm + 0.5) / n
    return v.to(torch.float32).to(torch.float64).reshape(*shape)


def leaf(t):
    return t.clone().requires_grad_(True)


def grads_of(y, gy, inputs):
    """Gradients of sum(y * gy) with respect to each input (None for an input given as None)."""
    live = [t for t in inputs if t is not None]
    gs = iter(torch.autograd.grad(y, live, grad_outputs=gy))
    return [next(gs) if t is not None else None for t in inputs]


cases = {}


def add(name, op, **entries):
    assert name not in cases, name
    case = {"op": op}
    for k, v in entries.items():
        if v is None:
            continue
        case[k] = tensor_json(v) if isinstance(v, torch.Tensor) else v
    cases[name] = case


# ---------------------------------------------------------------- conv2d
def conv_case(name, n, c, h, w, o, kh, kw, stride=(1, 1), padding=(0, 0), bias=True):
    x = leaf(randn32(n, c, h, w))
    # weights at the scale of PyTorch's default init, so outputs stay O(1)
    wt = leaf(randn32(o, c, kh, kw, scale=1.0 / np.sqrt(c * kh * kw)))
    b = leaf(randn32(o)) if bias else None
    y = F.conv2d(x, wt, b, stride=stride, padding=padding)
    gy = upstream32(*y.shape)
    gx, gw, gb = grads_of(y, gy, [x, wt, b])
    add(name, "conv2d", stride=list(stride), padding=list(padding), x=x, weight=wt, bias=b, y=y, gy=gy,
        grad_x=gx, grad_weight=gw, grad_bias=gb)


# ---------------------------------------------------------------- max_pool2d
def pool_case(name, n, c, h, w, kernel, stride, padding=(0, 0), negative=False):
    lo, hi = (-9.0, -1.0) if negative else (-3.0, 3.0)
    x = leaf(distinct32(n, c, h, w, lo=lo, hi=hi))
    y = F.max_pool2d(x, kernel, stride, padding)
    gy = upstream32(*y.shape)
    (gx,) = grads_of(y, gy, [x])
    add(name, "max_pool2d", kernel=list(kernel), stride=list(stride), padding=list(padding), x=x, y=y, gy=gy,
        grad_x=gx)


# ---------------------------------------------------------------- batch_norm
def bn_case(name, shape, training, momentum=0.1, eps=1e-5, affine=True, running=True, scale=1.0, shift=0.0):
    c = shape[1]
    x = leaf(randn32(*shape, scale=scale, shift=shift))
    wt = leaf(randn32(c, scale=0.5, shift=1.0)) if affine else None
    b = leaf(randn32(c, scale=0.5)) if affine else None
    rm = randn32(c, scale=0.5) if running else None
    rv = (torch.rand(c, dtype=torch.float32) + 0.5).to(torch.float64) if running else None
    rm_before = rm.clone() if running else None
    rv_before = rv.clone() if running else None
    y = F.batch_norm(x, rm, rv, wt, b, training=training, momentum=momentum, eps=eps)
    gy = upstream32(*y.shape)
    gx, gw, gb = grads_of(y, gy, [x, wt, b])
    add(name, "batch_norm", training=training, momentum=momentum, eps=eps, x=x, weight=wt, bias=b,
        running_mean=rm_before, running_var=rv_before, y=y, gy=gy, grad_x=gx, grad_weight=gw, grad_bias=gb,
        running_mean_after=rm if running else None, running_var_after=rv if running else None)


# ---------------------------------------------------------------- linear
def linear_case(name, n, fin, fout, bias=True):
    x = leaf(randn32(n, fin))
    wt = leaf(randn32(fout, fin, scale=1.0 / np.sqrt(fin)))
    b = leaf(randn32(fout)) if bias else None
    y = F.linear(x, wt, b)
    gy = upstream32(*y.shape)
    gx, gw, gb = grads_of(y, gy, [x, wt, b])
    add(name, "linear", x=x, weight=wt, bias=b, y=y, gy=gy, grad_x=gx, grad_weight=gw, grad_bias=gb)


# ---------------------------------------------------------------- log_softmax, nll_loss, cross_entropy
def log_softmax_case(name, n, k, dim, scale=1.0):
    x = leaf(randn32(n, k, scale=scale))
    y = F.log_softmax(x, dim=dim)
    gy = upstream32(*y.shape)
    (gx,) = grads_of(y, gy, [x])
    add(name, "log_softmax", dim=dim, x=x, y=y, gy=gy, grad_x=gx)


def loss_case(name, op, n, k, scale=1.0):
    x = leaf(randn32(n, k, scale=scale))
    target = torch.randint(0, k, (n,), dtype=torch.int64)
    fn = F.cross_entropy if op == "cross_entropy" else F.nll_loss
    y = fn(x, target)  # mean reduction
    # a scalar upstream gradient away from 0 and 1 checks that the backward scales by it
    magnitude = 0.5 + (torch.rand((), dtype=torch.float64) * 32).round() / 32
    gy = magnitude if torch.rand(()) < 0.5 else -magnitude
    (gx,) = grads_of(y, gy, [x])
    key = "logits" if op == "cross_entropy" else "log_probs"
    add(name, op, **{key: x}, target=target, y=y, gy=gy, **{"grad_" + key: gx})


def build_cases():
    conv_case("conv2d/mnist_conv1", 1, 1, 28, 28, 10, 5, 5)
    conv_case("conv2d/mnist_conv2", 1, 10, 12, 12, 20, 5, 5)
    conv_case("conv2d/stride2_pad1", 2, 3, 9, 9, 4, 3, 3, stride=(2, 2), padding=(1, 1))
    conv_case("conv2d/nonsquare", 2, 2, 7, 10, 3, 3, 2, stride=(2, 1), padding=(1, 0))
    conv_case("conv2d/no_bias", 1, 3, 6, 6, 2, 3, 3, bias=False)
    conv_case("conv2d/kernel_1x1", 2, 4, 5, 5, 6, 1, 1)
    conv_case("conv2d/kernel_fills_input", 2, 3, 4, 4, 5, 4, 4)
    conv_case("conv2d/pad2_stride3", 1, 2, 8, 8, 3, 3, 3, stride=(3, 3), padding=(2, 2))
    pool_case("max_pool2d/k2_s2", 2, 3, 8, 8, (2, 2), (2, 2))
    pool_case("max_pool2d/k2_s2_mnist", 1, 2, 24, 24, (2, 2), (2, 2))
    pool_case("max_pool2d/k2_s2_odd_size", 2, 2, 7, 9, (2, 2), (2, 2))
    pool_case("max_pool2d/k3_s2_p1", 2, 3, 9, 9, (3, 3), (2, 2), (1, 1))
    pool_case("max_pool2d/k3_s2_p1_nonsquare", 1, 2, 7, 10, (3, 3), (2, 2), (1, 1))
    # all inputs negative: a window that covers padding must still pick an input, not a 0 pad
    pool_case("max_pool2d/k3_s2_p1_negative", 1, 2, 6, 6, (3, 3), (2, 2), (1, 1), negative=True)
    pool_case("max_pool2d/k3_s1", 2, 2, 6, 6, (3, 3), (1, 1))
    pool_case("max_pool2d/k2x3_s1x2", 1, 2, 6, 9, (2, 3), (1, 2))
    bn_case("batch_norm/train_2d_m0.1", (8, 5), True)
    bn_case("batch_norm/train_2d_m0.3_eps1e-3", (6, 4), True, momentum=0.3, eps=1e-3)
    # N = 2: the unbiased running-variance factor n/(n-1) is 2, so a biased update is far off
    bn_case("batch_norm/train_2d_n2", (2, 3), True)
    bn_case("batch_norm/train_4d_m0.1", (4, 3, 5, 5), True)
    bn_case("batch_norm/train_4d_m0.5", (2, 4, 3, 3), True, momentum=0.5)
    # mean far from zero relative to the spread: a one-pass E[x^2]-E[x]^2 variance loses digits
    bn_case("batch_norm/train_4d_offset", (3, 2, 4, 4), True, scale=0.5, shift=20.0)
    bn_case("batch_norm/train_4d_no_affine", (2, 3, 4, 4), True, affine=False)
    bn_case("batch_norm/train_2d_no_running_stats", (5, 4), True, running=False)
    bn_case("batch_norm/eval_2d", (6, 5), False)
    bn_case("batch_norm/eval_4d", (2, 3, 4, 4), False)
    linear_case("linear/bias", 4, 20, 7)
    linear_case("linear/no_bias", 3, 6, 5, bias=False)
    linear_case("linear/mnist_fc2", 2, 50, 10)
    linear_case("linear/single_row", 1, 9, 4)
    log_softmax_case("log_softmax/dim1", 4, 10, 1)
    log_softmax_case("log_softmax/dim_minus1", 3, 7, -1)
    # |x| up to ~300: exp overflows float32 unless the max is subtracted first
    log_softmax_case("log_softmax/large_values", 3, 6, 1, scale=100.0)
    loss_case("cross_entropy/n4_k10", "cross_entropy", 4, 10)
    loss_case("cross_entropy/n1_k3", "cross_entropy", 1, 3)
    loss_case("cross_entropy/n16_k10", "cross_entropy", 16, 10)
    loss_case("cross_entropy/large_logits", "cross_entropy", 4, 5, scale=100.0)
    loss_case("nll_loss/n4_k10", "nll_loss", 4, 10)
    loss_case("nll_loss/n1_k5", "nll_loss", 1, 5)
    loss_case("nll_loss/n8_k3", "nll_loss", 8, 3)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    build_cases()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        # one case per line, so the diff of a regenerated file names the cases that changed
        f.write("{\n")
        items = [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in cases.items()]
        f.write(",\n".join(items))
        f.write("\n}\n")
    print(f"wrote {len(cases)} cases, {os.path.getsize(OUT)} bytes to {OUT} (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
