#!/usr/bin/python3
"""Writes tests/reference/fixtures/nn.json: PyTorch reference values for Ember's nn layers.

Run with Debian's torch (CPU): /usr/bin/python3 tests/reference/gen_nn.py

Two kinds of case:
- "layer/<name>": one torch.nn layer (or a small net), its state_dict, an input x, a fixed upstream
  gradient gy, and what PyTorch gives: the output y, grad_x and grad_<param> for each parameter (the
  gradients of sum(y * gy)), the buffers after the forward, and for some an eval-mode output.
  The C++ test builds the same layer, loads the state dict with load_state_dict and compares.
  Parameters and inputs are drawn in float32; the layer then runs in float64 on those exact values
  and the results are rounded to float32 (the correctly rounded answer for what Ember is given).
- "module/<name>": two MNIST-style nets (mirrored in tests/test_nn_module.cpp): PyTorch's repr(),
  the names of named_parameters / named_buffers / named_modules / state_dict, the state dict shapes,
  and the exact messages of load_state_dict's failures.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "nn.json")
SEED = 20240502


def short_float(v):
    """Shortest decimal that reads back (as a double, then float32) as the float32 value v."""
    f32 = np.float32(v)
    assert np.isfinite(f32), f"non-finite value {f32} in a fixture"
    d = float(str(f32))
    if np.float32(d) != f32:
        d = float(f32)
    assert np.float32(float(repr(d))) == f32
    return d


def tensor_json(t):
    t = t.detach()
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    data = t.to(torch.float32).reshape(-1).numpy()
    return {"dtype": "float32", "shape": list(t.shape), "data": [short_float(v) for v in data]}


def randn32(*shape, scale=1.0, shift=0.0):
    return (torch.randn(*shape) * scale + shift).to(torch.float32)


def upstream32(*shape):
    """A random upstream gradient on a 1/32 grid: exact in float32 and short in the file."""
    return (torch.randn(*shape, dtype=torch.float64) * 32).round() / 32


def distinct32(*shape, lo=-3.0, hi=3.0):
    """Distinct values in random order: max-pool windows have no ties."""
    n = int(np.prod(shape))
    v = lo + (hi - lo) * (torch.randperm(n).to(torch.float64) + 0.5) / n
    return v.to(torch.float32).reshape(*shape)


def randomize(module):
    """Float32 random values in every floating parameter and buffer (BatchNorm weight near 1, var > 0)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(randn32(*p.shape, scale=0.5, shift=1.0 if name.endswith("weight") and p.dim() == 1 else 0.0))
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(randn32(*b.shape, scale=0.5))
            elif name.endswith("running_var"):
                b.copy_((torch.rand(*b.shape) + 0.5).to(torch.float32))


cases = {}


def add(name, **entries):
    assert name not in cases, name
    case = {}
    for k, v in entries.items():
        if isinstance(v, torch.Tensor):
            case[k] = tensor_json(v)
        elif isinstance(v, dict):
            case[k] = {kk: tensor_json(vv) for kk, vv in v.items()}
        else:
            case[k] = v
    cases[name] = case


def layer_case(name, module, x, randomize_params=True, extra_train_inputs=(), eval_x=None, target=None):
    """Runs module (float64) on x in training mode and backward(gy); records everything."""
    if randomize_params:
        randomize(module)
    state = {k: v.clone() for k, v in module.state_dict().items()}
    module = module.double()
    module.train()
    # Optional earlier training batches (BatchNorm running statistics and num_batches_tracked).
    for xi in extra_train_inputs:
        with torch.no_grad():
            module(xi.double())
    xd = x.double().requires_grad_(True)
    y = module(xd)
    if target is not None:  # a net ending in log_softmax: backward from the NLL loss
        loss = F.nll_loss(y, target)
        loss.backward()
        gy = None
    else:
        gy = upstream32(*y.shape)
        y.backward(gy)
    grads = {"grad_" + k: p.grad for k, p in module.named_parameters()}
    after = {k + "_after": v for k, v in module.state_dict().items() if "running" in k or "num_batches" in k}
    entries = dict(state_dict=state, x=x, y=y, grad_x=xd.grad, **grads, **after)
    entries["extra_train_inputs"] = [tensor_json(t) for t in extra_train_inputs]
    if gy is not None:
        entries["gy"] = gy
    if target is not None:
        entries["target"] = target
        entries["loss"] = loss
    if eval_x is not None:
        module.eval()
        with torch.no_grad():
            entries["eval_x"] = eval_x
            entries["eval_y"] = module(eval_x.double())
    entries["repr"] = repr(module)
    add("layer/" + name, **entries)


class SmallNet(nn.Module):
    """An MNIST-shaped net on 8x8 inputs, every layer kind in one forward."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(54, 10)
        self.bn2 = nn.BatchNorm1d(10)
        self.fc2 = nn.Linear(10, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))  # (N, 4, 3, 3)
        x = F.relu(self.conv2(x))                         # (N, 6, 3, 3)
        x = F.relu(self.bn2(self.fc1(self.flatten(x))))   # (N, 10)
        return F.log_softmax(self.fc2(x), dim=1)


def layer_cases():
    layer_case("linear", nn.Linear(4, 3), randn32(2, 4))
    layer_case("linear_nobias", nn.Linear(3, 2, bias=False), randn32(5, 3))
    layer_case("linear_3d", nn.Linear(4, 3), randn32(2, 3, 4))
    layer_case("conv2d", nn.Conv2d(2, 3, 3, stride=1, padding=1), randn32(2, 2, 5, 5))
    layer_case("conv2d_rect", nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), bias=False),
               randn32(1, 2, 6, 5))
    layer_case("maxpool", nn.MaxPool2d(2), distinct32(2, 2, 4, 6))
    layer_case("maxpool_pad", nn.MaxPool2d(3, stride=2, padding=1), distinct32(1, 2, 5, 5))
    layer_case("maxpool_rect", nn.MaxPool2d((2, 3), stride=(1, 2)), distinct32(1, 1, 4, 7))
    layer_case("relu", nn.ReLU(), distinct32(3, 4))
    layer_case("flatten", nn.Flatten(), randn32(2, 3, 2, 2))
    layer_case("flatten_range", nn.Flatten(0, 1), randn32(2, 3, 2))
    layer_case("bn2d", nn.BatchNorm2d(3), randn32(4, 3, 3, 3, scale=2.0, shift=1.0),
               eval_x=randn32(2, 3, 2, 2))
    layer_case("bn1d", nn.BatchNorm1d(4), randn32(6, 4, scale=1.5, shift=-0.5), eval_x=randn32(3, 4))
    layer_case("bn1d_3d", nn.BatchNorm1d(3), randn32(4, 3, 5), eval_x=randn32(2, 3, 5))
    layer_case("bn2d_momentum_none", nn.BatchNorm2d(2, momentum=None), randn32(3, 2, 2, 2, shift=2.0),
               extra_train_inputs=[randn32(3, 2, 2, 2), randn32(3, 2, 2, 2, scale=3.0)],
               eval_x=randn32(2, 2, 2, 2))
    layer_case("bn2d_momentum_0.3", nn.BatchNorm2d(2, momentum=0.3), randn32(3, 2, 2, 2),
               extra_train_inputs=[randn32(3, 2, 2, 2, shift=-1.0)], eval_x=randn32(1, 2, 2, 2))
    layer_case("bn2d_no_affine", nn.BatchNorm2d(3, affine=False), randn32(2, 3, 2, 3), eval_x=randn32(2, 3, 2, 3))
    layer_case("bn2d_no_stats", nn.BatchNorm2d(3, track_running_stats=False), randn32(2, 3, 2, 3),
               eval_x=randn32(2, 3, 2, 3))
    layer_case("bn1d_bare", nn.BatchNorm1d(3, affine=False, track_running_stats=False), randn32(4, 3),
               eval_x=randn32(4, 3))
    layer_case("sequential", nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)), randn32(3, 4))
    layer_case("small_net", SmallNet(), randn32(4, 1, 8, 8), target=torch.tensor([0, 2, 1, 2]),
               extra_train_inputs=[randn32(4, 1, 8, 8)], eval_x=randn32(2, 1, 8, 8))


class MNISTNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(0.5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)


class MNISTNetBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.bn1 = nn.BatchNorm2d(10)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(20, momentum=None)
        self.pool = nn.MaxPool2d((2, 2))
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(320, 50)
        self.bn3 = nn.BatchNorm1d(50, eps=0.001, affine=False)
        self.drop = nn.Dropout(0.25)
        self.head = nn.Sequential(nn.Linear(50, 10, bias=False), nn.ReLU())
        self.register_buffer("scratch", torch.zeros(3), persistent=False)
        self.register_buffer("calls", torch.zeros(1))


def load_error(model, sd, strict=True):
    try:
        model.load_state_dict(sd, strict=strict)
    except RuntimeError as e:
        return str(e)
    return ""


def module_case(name, model):
    sd = model.state_dict()
    entries = {
        "repr": repr(model),
        "named_parameters": [n for n, _ in model.named_parameters()],
        "named_buffers": [n for n, _ in model.named_buffers()],
        "named_modules": [n for n, _ in model.named_modules()],
        "named_children": [n for n, _ in model.named_children()],
        "state_dict_keys": list(sd.keys()),
        "state_dict_shapes": [list(v.shape) for v in sd.values()],
        "state_dict_dtypes": [str(v.dtype).replace("torch.", "") for v in sd.values()],
    }
    # Failures, with the exact messages.
    missing = dict(sd)
    del missing["fc1.bias"]
    entries["error_missing"] = load_error(model, missing)
    unexpected = dict(sd)
    unexpected["fc3.weight"] = torch.zeros(2, 2)
    entries["error_unexpected"] = load_error(model, unexpected)
    both = dict(missing)
    del both["conv1.weight"]
    both["fc3.weight"] = torch.zeros(2, 2)
    both["conv1.extra"] = torch.zeros(1)
    entries["error_both"] = load_error(model, both)
    mismatch = dict(sd)
    mismatch["fc1.weight"] = torch.zeros(5, 320)
    entries["error_size_mismatch"] = load_error(model, mismatch)
    entries["error_size_mismatch_non_strict"] = load_error(model, mismatch, strict=False)
    everything = dict(both)
    everything["fc1.weight"] = torch.zeros(5, 320)
    entries["error_everything"] = load_error(model, everything)
    result = model.load_state_dict(both, strict=False)
    entries["non_strict_missing"] = list(result.missing_keys)
    entries["non_strict_unexpected"] = list(result.unexpected_keys)
    add("module/" + name, **entries)


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    layer_cases()
    module_case("mnist", MNISTNet())
    module_case("mnist_bn", MNISTNetBN())
    with open(OUT, "w") as f:
        items = [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in cases.items()]
        f.write("{\n" + ",\n".join(items) + "\n}\n")
    print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes -> {OUT}")


if __name__ == "__main__":
    main()
