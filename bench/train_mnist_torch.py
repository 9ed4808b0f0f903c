#!/usr/bin/env python3
"""The PyTorch peer of train_mnist: the same model, recipe and loop, timed the same way.

Reads the IDX files with numpy (no torchvision), keeps images as uint8 and normalises each batch
as Ember does, so both sides do the same work. Prints one line per epoch:
  torch epoch 1 train_s 7.91 test_s 0.85 accuracy 97.12 loss 0.0931
Run with Debian's torch: /usr/bin/python3 bench/train_mnist_torch.py --data datasets/mnist
"""
import argparse
import os
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_peer import print_peer


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class MNISTNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2(x), 2))
        x = x.view(-1, 320)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def batches(images, labels, batch_size, order):
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        x = torch.from_numpy(images[idx]).float().div_(255).sub_(0.1307).div_(0.3081).unsqueeze(1)
        yield x, torch.from_numpy(labels[idx]).long()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="datasets/mnist")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="0: PyTorch's own default")
    p.add_argument("--train-size", type=int, default=0, help="the first N training images only (0: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    print_peer()
    tr_x = read_idx(os.path.join(a.data, "train-images-idx3-ubyte"))
    tr_y = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte")).astype(np.int64)
    if a.train_size > 0:
        tr_x, tr_y = tr_x[:a.train_size], tr_y[:a.train_size]
    te_x = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte"))
    te_y = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte")).astype(np.int64)
    model = MNISTNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = torch.randperm(len(tr_x)).numpy()
        t0 = time.perf_counter()
        for x, y in batches(tr_x, tr_y, a.batch_size, order):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        train_s = time.perf_counter() - t0
        model.eval()
        t1 = time.perf_counter()
        correct, total_loss = 0, 0.0
        with torch.no_grad():
            for x, y in batches(te_x, te_y, 1000, np.arange(len(te_x))):
                out = model(x)
                total_loss += F.cross_entropy(out, y, reduction="sum").item()
                correct += (out.argmax(1) == y).sum().item()
        test_s = time.perf_counter() - t1
        print(f"torch threads {torch.get_num_threads()} epoch {epoch} train_s {train_s:.3f} test_s {test_s:.3f} "
              f"accuracy {100.0 * correct / len(te_x):.2f} loss {total_loss / len(te_x):.4f}", flush=True)
    print(f"torch peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
