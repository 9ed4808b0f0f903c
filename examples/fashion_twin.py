#!/usr/bin/python3
"""The PyTorch twin of Ember's FashionNet (examples/models.h): loads the weights Ember trained
(a .pth written by `ember_ckpt convert CKPT OUT.pth --to pth`, or a plain state dict), predicts the
Fashion-MNIST test set, and compares with Ember's predictions (train_mnist --predictions).

  /usr/bin/python3 examples/fashion_twin.py best.pth datasets/fashion-mnist ember_preds.txt
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class FashionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(32)
        self.conv1 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.down = nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn5 = nn.BatchNorm2d(64)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn0(self.stem(x))), 2)
        r = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(h)))))
        h = F.relu(h + r)
        h = F.relu(self.bn3(self.down(h)))
        r = self.bn5(self.conv4(F.relu(self.bn4(self.conv3(h)))))
        h = F.relu(h + r)
        return self.fc(self.drop(self.gap(h).flatten(1)))


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(root, name):
    for candidate in (name, name + ".gz"):
        if os.path.exists(os.path.join(root, candidate)):
            return os.path.join(root, candidate)
    raise FileNotFoundError(f"{name} in {root}")


def main(pth, root, ember_preds):
    state = torch.load(pth, map_location="cpu")
    if "model_state_dict" in state:
        state = state["model_state_dict"]
    net = FashionNet()
    net.load_state_dict(state)
    net.eval()
    images = read_idx(find(root, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0
    labels = read_idx(find(root, "t10k-labels-idx1-ubyte")).astype(np.int64)
    x = (torch.from_numpy(images).unsqueeze(1) - 0.2860) / 0.3530  # data/mnist.h's Fashion-MNIST mean, std
    with torch.no_grad():
        preds = torch.cat([net(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()
    print(f"PyTorch twin: {np.mean(preds == labels) * 100:.2f}% test accuracy")
    with open(ember_preds) as f:  # train_mnist --predictions: one digit per test image
        ours = np.array([int(c) for c in f.read() if c.isdigit()])
    same = int(np.sum(ours == preds))
    print(f"same prediction as Ember on {same} / {len(preds)} test images")
    return 0 if same == len(preds) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
