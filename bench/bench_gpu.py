#!/usr/bin/env python3
"""PyTorch eager twin of bin/bench_gpu: epochs of MNISTNet (batch 64, SGD lr 0.01 momentum 0.5) with
the whole training set resident on the GPU. Prints `torch_epoch_s <median>` and, with --profile, the
top CUDA kernels of the last epoch (torch.profiler).

usage: python3 bench/bench_gpu.py [--data datasets/mnist] [--epochs 3] [--batch-size 64]
                                  [--device cuda:0] [--sync-every 0] [--no-tf32] [--profile]
PyTorch's defaults are kept (cuDNN convolutions may use TF32; --no-tf32 forbids it, as Ember does).
Without the MNIST files it trains on random data of the same shape (and says so).
"""
import argparse
import gzip
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class MNISTNet(nn.Module):
    """examples/models.h's MNISTNet."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        h = F.relu(F.max_pool2d(self.conv1(x), 2))
        h = F.relu(F.max_pool2d(self.conv2(h), 2))
        h = F.relu(self.fc1(h.flatten(1)))
        return self.fc2(h)


def read_idx(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            raw = gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
            dims = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    return None


def training_set(root):
    images = read_idx(os.path.join(root, "train-images-idx3-ubyte"))
    labels = read_idx(os.path.join(root, "train-labels-idx1-ubyte"))
    if images is None or labels is None:
        print(f"note: no MNIST files in {root}; training on random data of the same shape")
        g = torch.Generator().manual_seed(1)
        return torch.randn(60000, 1, 28, 28, generator=g), torch.randint(0, 10, (60000,), generator=g)
    x = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    x = (x / 255.0 - 0.1307) / 0.3081  # torchvision's ToTensor + Normalize, in float32
    return x, torch.from_numpy(labels.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="datasets/mnist")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--sync-every", type=int, default=0)
    ap.add_argument("--no-tf32", action="store_true")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    if a.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device(a.device)
    images, labels = training_set(a.data)
    images, labels = images.to(dev), labels.to(dev)
    n = images.shape[0]
    steps = (n + a.batch_size - 1) // a.batch_size
    torch.manual_seed(1)
    model = MNISTNet().to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    print(f"torch {torch.__version__} MNISTNet on {torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'}: "
          f"{n} images resident, batch {a.batch_size}, {steps} steps per epoch")

    def epoch():
        loss = None
        for s in range(steps):
            lo, hi = s * a.batch_size, min(n, (s + 1) * a.batch_size)
            opt.zero_grad()
            loss = F.cross_entropy(model(images[lo:hi]), labels[lo:hi])
            loss.backward()
            opt.step()
            if a.sync_every and (s + 1) % a.sync_every == 0:
                loss.item()
        return loss.item()

    times = []
    for e in range(a.epochs + 1):  # epoch 0 warms up
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        last = epoch()
        t = time.perf_counter() - t0
        print(f"{'warm-up' if e == 0 else 'epoch'} {e}: {t:.3f} s ({n / t:.0f} images/s), last loss {last:.4f}")
        if e > 0:
            times.append(t)
    print(f"torch_epoch_s {statistics.median(times):.4f}")

    if a.profile and dev.type == "cuda":
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            epoch()
            torch.cuda.synchronize(dev)
        print("top CUDA kernels over one epoch (torch.profiler):")
        try:  # PyTorch >= 2.4 names it device time
            print(prof.key_averages().table(sort_by="device_time_total", row_limit=15))
        except (AttributeError, KeyError, ValueError):
            print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=15))


if __name__ == "__main__":
    main()
