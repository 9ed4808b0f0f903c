#!/usr/bin/env python3
"""Times forward+backward of MNISTNet's ops (batch 64, float32) with PyTorch, for comparison with
bin/bench_ops. Prints one line per op: `op <name> torch_ms <median ms per iteration>`.
An iteration runs the op and torch.autograd.grad on a gradient of ones made once: the gradients are
returned, not accumulated into .grad, as for an op inside a network (bin/bench_ops does the same).

usage: /usr/bin/python3 bench/bench_ops.py [--threads N] [--repeats R] [--iters K] [--only a,b] [--clock wall|cpu]
                                           [--stat median|min]
--clock cpu reports process CPU time (steadier on a busy machine; with threads it also counts spinning).
--stat min reports the fastest repeat instead of the median, which a busy machine disturbs less.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from torch_peer import print_peer


def make_cases():
    g = torch.Generator().manual_seed(0)

    def rnd(*shape, grad=True):
        return torch.randn(*shape, generator=g).requires_grad_(grad)

    x1 = rnd(64, 1, 28, 28, grad=False)
    w1, b1 = rnd(10, 1, 5, 5), rnd(10)
    x2 = rnd(64, 10, 12, 12)
    w2, b2 = rnd(20, 10, 5, 5), rnd(20)
    p1 = rnd(64, 10, 24, 24)
    p2 = rnd(64, 20, 8, 8)
    bn_x = rnd(64, 10, 24, 24)
    bn_w, bn_b = rnd(10), rnd(10)
    bn_rm, bn_rv = torch.zeros(10), torch.ones(10)
    r = rnd(64, 10, 24, 24)
    fx, fw, fb = rnd(64, 320), rnd(50, 320), rnd(50)

    # Each case: (name, forward thunk, the inputs that get gradients).
    return [
        ("conv1", lambda: F.conv2d(x1, w1, b1), [w1, b1]),
        ("conv2", lambda: F.conv2d(x2, w2, b2), [x2, w2, b2]),
        ("pool1", lambda: F.max_pool2d(p1, 2), [p1]),
        ("pool2", lambda: F.max_pool2d(p2, 2), [p2]),
        ("batch_norm", lambda: F.batch_norm(bn_x, bn_rm, bn_rv, bn_w, bn_b, training=True), [bn_x, bn_w, bn_b]),
        ("relu", lambda: F.relu(r), [r]),
        ("fc1", lambda: F.linear(fx, fw, fb), [fx, fw, fb]),
    ]


def step(fwd, leaves, grad_output):
    y = fwd()
    if grad_output[0] is None:
        grad_output[0] = torch.ones_like(y)
    torch.autograd.grad(y, leaves, grad_output[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--only", default="", help="comma-separated op names")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--stat", choices=["median", "min"], default="median")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print_peer()
    only = set(filter(None, args.only.split(",")))
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for name, fwd, leaves in make_cases():
        if only and name not in only:
            continue
        grad_output = [None]
        for _ in range(max(5, args.iters // 5)):
            step(fwd, leaves, grad_output)
        times = []
        for _ in range(args.repeats):
            t0 = clock()
            for _ in range(args.iters):
                step(fwd, leaves, grad_output)
            times.append((clock() - t0) * 1e3 / args.iters)
        stat = min(times) if args.stat == "min" else statistics.median(times)
        print(f"op {name} torch_ms {stat:.4f}", flush=True)


if __name__ == "__main__":
    main()
