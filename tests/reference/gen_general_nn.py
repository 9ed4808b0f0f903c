#!/usr/bin/python3
"""Writes the fixtures of tests/test_nn_general_layers.cpp: general_layers.pth (the state dict of a
small model built from the layers beyond MNISTNet's) and general_layers.json (its input, its eval
output, and the repr() of each new layer, which Ember's printing must match).

Run with Debian's torch (CPU): /usr/bin/python3 tests/reference/gen_general_nn.py
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_ops import short_float  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")


class SeqNet(nn.Module):
    """Tokens (N, L) -> Embedding -> LayerNorm -> Conv1d (groups) -> GroupNorm -> GELU -> mean over L
    -> Linear; a conv2d branch (dilation, depthwise) with BatchNorm and pooling on an image input."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.ln = nn.LayerNorm(4)
        self.conv1 = nn.Conv1d(4, 6, 3, padding=1, groups=2)
        self.gn = nn.GroupNorm(3, 6)
        self.conv2 = nn.Conv2d(1, 6, 3, padding=2, dilation=2)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.pool = nn.AvgPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, 3)

    def forward(self, tokens, image):
        h = self.ln(self.emb(tokens)).transpose(1, 2)            # (N, 4, L)
        h = F.gelu(self.gn(self.conv1(h))).mean(2)               # (N, 6)
        g = F.relu(self.bn(self.dw(self.conv2(image))))          # (N, 6, H, W)
        g = self.gap(self.pool(g)).flatten(1)                    # (N, 6)
        return self.fc(torch.cat([h, g], 1))


def tensor_json(t):
    t = t.detach()
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape), "data": t.reshape(-1).tolist()}
    return {"dtype": "float32", "shape": list(t.shape), "data": [short_float(v) for v in t.reshape(-1).numpy()]}


def main():
    torch.manual_seed(7)
    net = SeqNet()
    # a few training-mode passes so that BatchNorm's buffers hold real statistics
    with torch.no_grad():
        for _ in range(3):
            net(torch.randint(0, 10, (4, 5)), torch.randn(4, 1, 8, 8))
        for p in net.parameters():  # move away from the ones/zeros init so a missed load shows
            p.add_(torch.randn_like(p) * 0.1)
    net.eval()
    tokens = torch.tensor([[0, 3, 5, 9, 0], [1, 2, 0, 7, 7]])
    image = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        out = net(tokens, image)
    torch.save(net.state_dict(), os.path.join(FIXTURES, "general_layers.pth"))
    reprs = {
        "emb": repr(net.emb), "ln": repr(net.ln), "conv1": repr(net.conv1), "gn": repr(net.gn),
        "conv2": repr(net.conv2), "dw": repr(net.dw), "pool": repr(net.pool), "gap": repr(net.gap),
        "sigmoid": repr(nn.Sigmoid()), "tanh": repr(nn.Tanh()), "softmax": repr(nn.Softmax(dim=1)),
        "log_softmax": repr(nn.LogSoftmax(dim=-1)), "leaky_relu": repr(nn.LeakyReLU(0.2)),
        "gelu": repr(nn.GELU(approximate="tanh")), "identity": repr(nn.Identity()), "dropout2d": repr(nn.Dropout2d(0.25)),
        "ln2": repr(nn.LayerNorm([3, 4], eps=1e-3, elementwise_affine=False)),
        "gn_noaffine": repr(nn.GroupNorm(2, 4, affine=False)),
        "maxpool": repr(nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)),
        "avgpool_rect": repr(nn.AvgPool2d((2, 3), stride=1, padding=(1, 1))),
        "gap_pair": repr(nn.AdaptiveAvgPool2d((2, 3))),
        "conv1d_plain": repr(nn.Conv1d(3, 8, 5, stride=2, bias=False)),
        "mse": repr(nn.MSELoss()), "l1": repr(nn.L1Loss()), "bce": repr(nn.BCELoss()),
        "bce_logits": repr(nn.BCEWithLogitsLoss()), "nll": repr(nn.NLLLoss()), "ce": repr(nn.CrossEntropyLoss()),
    }
    with open(os.path.join(FIXTURES, "general_layers.json"), "w") as f:
        json.dump({"tokens": tensor_json(tokens), "image": tensor_json(image), "out": tensor_json(out),
                   "state_dict_keys": list(net.state_dict().keys()), "repr": reprs}, f, indent=1)
    print("wrote general_layers.pth and general_layers.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
