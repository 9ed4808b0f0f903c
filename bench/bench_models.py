#!/usr/bin/python3
"""The model benchmark, PyTorch's side: the twins of bin/bench_models' models (same layers, batch,
optimizer and loss, random data of MNIST's shape), timed the same way: the median of --steps
training steps after --warmup. Prints the peer line (bench/torch_peer.py), then
`model <name> torch_s_per_step <median> peak_rss_mb <the process's peak>`.

usage: /usr/bin/python3 bench/bench_models.py --model NAME [--threads N] [--steps K] [--warmup W]
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_peer import print_peer


class MNISTNet(nn.Module):  # examples/models.h
    def __init__(self, bn=False):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 10, 5), nn.Conv2d(10, 20, 5)
        self.fc1, self.fc2 = nn.Linear(320, 50), nn.Linear(50, 10)
        self.bn = bn
        if bn:
            self.bn1, self.bn2, self.bn3 = nn.BatchNorm2d(10), nn.BatchNorm2d(20), nn.BatchNorm1d(50)

    def forward(self, x):
        i = (lambda m: m) if not self.bn else None
        b1, b2, b3 = (self.bn1, self.bn2, self.bn3) if self.bn else (i, i, i)
        h = F.relu(F.max_pool2d(b1(self.conv1(x)), 2))
        h = F.relu(F.max_pool2d(b2(self.conv2(h)), 2))
        h = F.relu(b3(self.fc1(h.flatten(1))))
        return self.fc2(h)


def conv(i, o, k, s, p):
    return nn.Conv2d(i, o, k, s, p, bias=False)


class BasicBlock(nn.Module):
    def __init__(self, i, o, s):
        super().__init__()
        self.conv1, self.bn1 = conv(i, o, 3, s, 1), nn.BatchNorm2d(o)
        self.conv2, self.bn2 = conv(o, o, 3, 1, 1), nn.BatchNorm2d(o)
        self.downsample = nn.Sequential(conv(i, o, 1, s, 0), nn.BatchNorm2d(o)) if s != 1 or i != o else None

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):  # 1x28x28: stem 7x7 stride 2, max-pool, stages at 7, 4, 2, 1
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
        layers, i = [], 64
        for s, w in enumerate([64, 128, 256, 512]):
            layers.append(nn.Sequential(BasicBlock(i, w, 2 if s else 1), BasicBlock(w, w, 1)))
            i = w
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for l in (self.layer1, self.layer2, self.layer3, self.layer4):
            h = l(h)
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


class DcganD(nn.Module):  # PyTorch's C++ DCGAN example: 28 -> 14 -> 7 -> 3 -> 1
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = conv(1, 64, 4, 2, 1), conv(64, 128, 4, 2, 1)
        self.batch_norm2, self.conv3 = nn.BatchNorm2d(128), conv(128, 256, 4, 2, 1)
        self.batch_norm3, self.conv4 = nn.BatchNorm2d(256), conv(256, 1, 3, 1, 0)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.batch_norm2(self.conv2(h)), 0.2)
        h = F.leaky_relu(self.batch_norm3(self.conv3(h)), 0.2)
        return torch.sigmoid(self.conv4(h)).flatten(0)


class Vae(nn.Module):  # PyTorch's examples/vae
    def __init__(self):
        super().__init__()
        self.fc1, self.fc21, self.fc22 = nn.Linear(784, 400), nn.Linear(400, 20), nn.Linear(400, 20)
        self.fc3, self.fc4 = nn.Linear(20, 400), nn.Linear(400, 784)

    def loss(self, x):
        h = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        recon = torch.sigmoid(self.fc4(F.relu(self.fc3(z))))
        bce = F.binary_cross_entropy(recon, x, reduction="sum")
        return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, choices=["mnistnet", "mnistnet_bn", "resnet18", "dcgan_d", "vae"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print_peer()
    batch = 128 if a.model == "vae" else 64
    x = torch.rand(batch, 784) if a.model == "vae" else torch.randn(batch, 1, 28, 28)
    labels, ones = torch.randint(0, 10, (batch,)), torch.ones(batch)
    if a.model in ("mnistnet", "mnistnet_bn", "resnet18"):
        net = ResNet18() if a.model == "resnet18" else MNISTNet(bn=a.model == "mnistnet_bn")
        lr, momentum = (0.1, 0.9) if a.model == "resnet18" else (0.01, 0.5)
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
        loss = lambda: F.cross_entropy(net(x), labels)
    elif a.model == "dcgan_d":
        net = DcganD()
        opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
        loss = lambda: F.binary_cross_entropy(net(x), ones)
    else:
        net = Vae()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        loss = lambda: net.loss(x)

    def step():
        opt.zero_grad()
        loss().backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"model {a.model} torch_s_per_step {statistics.median(times):.5f} peak_rss_mb {rss:.0f}", flush=True)


if __name__ == "__main__":
    main()
