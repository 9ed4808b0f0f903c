#!/usr/bin/python3
"""The layer benchmark, PyTorch's side: forward + backward of the cases in bench/layer_cases.txt,
timed as bin/bench_layers times Ember (same inputs' shapes, same warm-up, repeats and median).
Prints the peer line (bench/torch_peer.py), then `layer <name> torch_ms <median ms per iteration>`.

usage: /usr/bin/python3 bench/bench_layers.py [--cases FILE] [--threads N] [--repeats R] [--target-ms T] [--only a,b]
                                              [--clock wall|cpu]
"""
import argparse
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

from torch_peer import print_peer


def make_case(fields, g):
    name, kind, v = fields[0], fields[1], [int(x) for x in fields[2:]]

    def rnd(*shape, grad):
        return torch.randn(*shape, generator=g).requires_grad_(grad)

    if kind == "conv":
        n, c, h, w, o, k, s, p, groups, xg = v
        x, wt, b = rnd(n, c, h, w, grad=bool(xg)), rnd(o, c // groups, k, k, grad=True), rnd(o, grad=True)
        return name, lambda: F.conv2d(x, wt, b, s, p, 1, groups), [wt, b] + ([x] if xg else [])
    if kind == "linear":
        n, i, o, xg = v
        x, wt, b = rnd(n, i, grad=bool(xg)), rnd(o, i, grad=True), rnd(o, grad=True)
        return name, lambda: F.linear(x, wt, b), [wt, b] + ([x] if xg else [])
    if kind == "batchnorm":
        n, c, h, w = v
        x, wt, b = rnd(n, c, h, w, grad=True), rnd(c, grad=True), rnd(c, grad=True)
        rm, rv = torch.zeros(c), torch.ones(c)
        return name, lambda: F.batch_norm(x, rm, rv, wt, b, training=True), [x, wt, b]
    if kind in ("maxpool", "avgpool"):
        n, c, h, w, k, s, p = v
        x = rnd(n, c, h, w, grad=True)
        pool = F.max_pool2d if kind == "maxpool" else F.avg_pool2d
        return name, lambda: pool(x, k, s, p), [x]
    raise SystemExit(f"bench_layers.py: case '{name}': unknown kind '{kind}'")


def step(fwd, leaves, grad_output):
    for t in leaves:
        t.grad = None
    y = fwd()
    if grad_output[0] is None:
        grad_output[0] = torch.ones_like(y)
    y.backward(grad_output[0])


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default=os.path.join(root, "bench", "layer_cases.txt"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target-ms", type=int, default=100)
    ap.add_argument("--only", default="")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    print_peer()
    only = set(filter(None, a.only.split(",")))
    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    g = torch.Generator().manual_seed(0)
    for line in open(a.cases):
        if not line.strip() or line.startswith("#"):
            continue
        name, fwd, leaves = make_case(line.split(), g)
        if only and name not in only:
            continue
        go = [None]
        for _ in range(2):
            step(fwd, leaves, go)
        t0 = clock()
        step(fwd, leaves, go)
        one = max((clock() - t0) * 1e3, 1e-3)
        iters = int(min(max(math.ceil(a.target_ms / one), 1), 1000))
        ms = []
        for _ in range(a.repeats):
            t0 = clock()
            for _ in range(iters):
                step(fwd, leaves, go)
            ms.append((clock() - t0) * 1e3 / iters)
        print(f"layer {name} torch_ms {statistics.median(ms):.4f}", flush=True)


if __name__ == "__main__":
    main()
