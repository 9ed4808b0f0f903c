#!/usr/bin/python3
"""PyTorch interop fixtures for Ember's .pth and safetensors readers, and a checker for files Ember writes.

Run with Debian's torch (CPU) from the repository root:

  /usr/bin/python3 tests/reference/gen_interop.py
      Writes tests/reference/fixtures/interop_*: PyTorch-written files Ember must load, and
      interop.json with what PyTorch computes from them on fixed inputs.

  /usr/bin/python3 tests/reference/gen_interop.py check FILE.pth [--predictions OUT] [--expect DIGITS]
      Loads an Ember-written .pth with torch.load(weights_only=True), as a user of PyTorch would,
      prints what it holds, loads its MNISTNet weights (a state dict, or a checkpoint's
      "model_state_dict", and its "optimizer_state_dict" into torch.optim.SGD), and predicts the
      MNIST test set: writes the digits to OUT and/or compares them with the file DIGITS.
      Exits non-zero on any failure.

Fixtures (all small, deterministic for a given torch):
  interop_mnistnet.pth              MNISTNet trained 1 epoch on 10000 MNIST images, torch.save(state_dict)
  interop_mnistnet_predictions.txt  its predicted digit for each of the 10000 test images
  interop_mnistnet_bn.pth           MNISTNetBN after 40 training steps (BatchNorm buffers, num_batches_tracked)
  interop_checkpoint.pth            the tutorial's checkpoint dict: epoch, model and SGD-momentum optimizer
                                    state dicts, loss, plus a string and a list
  interop_views.pth                 tensors that are views (offsets, strides, transposes, expand), every
                                    dtype Ember has, 0-dim and empty tensors, nn.Parameter, torch.Size,
                                    tuples, int dict keys, big and negative ints, unicode, None
  interop_views_deflated_be.pth     the same archive rewritten by Python's zipfile: deflated entries,
                                    big-endian tensor bytes with a "byteorder" record of "big"
  interop_views_zip64.pth           the same archive with zip64 local headers (Python's force_zip64)
  interop_tensors.safetensors       a safetensors file written per the format's spec (every dtype
                                    Ember has, 0-dim, empty, metadata), by hand: no package needed
  interop.json                      inputs and PyTorch's outputs: logits of both models on 4 test
                                    images, the checkpoint's next SGD step on a fixed batch
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "reference", "fixtures")
MNIST = os.path.join(ROOT, "datasets", "mnist")
MEAN, STD = 0.1307, 0.3081


class MNISTNet(nn.Module):
    """examples/models.h's MNISTNet: conv1 -> pool -> relu -> conv2 -> pool -> relu -> fc1 -> relu -> fc2."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


class MNISTNetBN(nn.Module):
    """examples/models.h's MNISTNetBN: MNISTNet with BatchNorm after each hidden layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.bn1 = nn.BatchNorm2d(10)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.bn2 = nn.BatchNorm2d(20)
        self.fc1 = nn.Linear(320, 50)
        self.bn3 = nn.BatchNorm1d(50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.bn1(self.conv1(x)), 2))
        x = F.relu(F.max_pool2d(self.bn2(self.conv2(x)), 2))
        x = F.relu(self.bn3(self.fc1(x.flatten(1))))
        return self.fc2(x)


def read_idx(name):
    with open(os.path.join(MNIST, name), "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def normalise(images):
    """As Ember's MNIST dataset and torchvision's ToTensor + Normalize: float32 throughout."""
    x = torch.from_numpy(np.array(images)).to(torch.float32).unsqueeze(1)
    return (x / 255 - MEAN) / STD


def predict(model, images):
    model.eval()
    digits = []
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            digits += model(normalise(images[i:i + 1000])).argmax(1).tolist()
    return "".join(str(d) for d in digits)


def short_float(v):
    f32 = np.float32(v)
    d = float(str(f32))
    return d if np.float32(d) == f32 else float(f32)


def tensor_json(t):
    t = t.detach()
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"dtype": "float32", "shape": list(t.shape),
            "data": [short_float(v) for v in t.to(torch.float32).reshape(-1).numpy()]}


def train(model, images, labels, steps, batch=64, lr=0.01, momentum=0.5):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    loss = None
    for step in range(steps):
        lo = (step * batch) % len(images)
        x, y = normalise(images[lo:lo + batch]), torch.from_numpy(labels[lo:lo + batch].astype(np.int64))
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return optimizer, loss.item()


# ---- archives rewritten by Python's zipfile ----

def storage_widths(archive_bytes):
    """key -> element size of each storage, read from data.pkl (a trusted file we just wrote)."""
    widths = {}
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as z:
        pkl = next(n for n in z.namelist() if n.endswith("/data.pkl"))

        class Reader(pickle.Unpickler):
            def find_class(self, module, name):
                return getattr(__import__(module, fromlist=[name]), name)

            def persistent_load(self, pid):
                _, storage_type, key, _, numel = pid
                storage = storage_type(numel)
                widths[key] = storage.element_size()
                return storage

        Reader(io.BytesIO(z.read(pkl))).load()
    return widths


def rewrite(archive_bytes, path, compression, big_endian=False, force_zip64=False):
    widths = storage_widths(archive_bytes)
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as src, zipfile.ZipFile(path, "w", compression) as dst:
        names = src.namelist()
        prefix = names[0].split("/")[0] + "/"
        for name in names:
            data = src.read(name)
            key = name[len(prefix + "data/"):] if name.startswith(prefix + "data/") else None
            if big_endian and key is not None and widths[key] > 1:
                data = np.frombuffer(data, dtype=f"<u{widths[key]}").astype(f">u{widths[key]}").tobytes()
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            with dst.open(info, "w", force_zip64=force_zip64) as f:
                f.write(data)
        if big_endian:
            info = zipfile.ZipInfo(prefix + "byteorder", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            dst.writestr(info, b"big")


def safetensors_bytes(tensors, metadata):
    """The safetensors layout, by its spec: u64 header length, JSON header, tensor bytes in order."""
    names = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        blob = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def views_tree():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    return {
        "base": base,
        "transposed": base.t(),                     # strides (1, 6)
        "row": base[1],                             # offset 6
        "column": base[:, 2],                       # offset 2, stride 6
        "block": base[1:3, 2:5],                    # offset 8, strides (6, 1)
        "expanded": torch.tensor([7.5]).expand(3, 2),  # strides (0, 0)
        "float64": torch.tensor([1.5, -2.25], dtype=torch.float64),
        "int64": torch.tensor([[-3, 2**40], [0, 9]]),
        "uint8": torch.tensor([0, 255, 7], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.25),
        "empty": torch.zeros(0, 3),
        "param": nn.Parameter(torch.full((2,), 0.5)),
        "size": torch.Size([2, 3]),
        "tuple": (1, "two", None),
        "int_keys": {0: "zero", 7: "seven"},
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "big": 2**62,
        "negative": -123456789012,
        "minus_one": -1,
        "text": "h\u00e9llo w\u00f6rld \u2713",
        "flag": False,
        "nothing": None,
        "ratio": 0.1,
    }


def generate():
    torch.manual_seed(20240611)
    torch.set_num_threads(1)
    os.makedirs(FIXTURES, exist_ok=True)
    train_x, train_y = read_idx("train-images-idx3-ubyte"), read_idx("train-labels-idx1-ubyte")
    test_x = read_idx("t10k-images-idx3-ubyte")
    out = {}
    probe = test_x[:4]
    out["probe_pixels"] = {"dtype": "int64", "shape": [4, 1, 28, 28], "data": [int(v) for v in probe.reshape(-1)]}

    # A MNISTNet trained briefly and saved as the tutorials do.
    model = MNISTNet()
    train(model, train_x[:10000], train_y[:10000], steps=10000 // 64, lr=0.05)
    torch.save(model.state_dict(), os.path.join(FIXTURES, "interop_mnistnet.pth"))
    predictions = predict(model, test_x)
    with open(os.path.join(FIXTURES, "interop_mnistnet_predictions.txt"), "w") as f:
        f.write(predictions)
    with torch.no_grad():
        out["mnistnet_logits"] = tensor_json(model(normalise(probe)))

    # BatchNorm: running statistics and num_batches_tracked.
    bn = MNISTNetBN()
    train(bn, train_x[:2560], train_y[:2560], steps=40)
    torch.save(bn.state_dict(), os.path.join(FIXTURES, "interop_mnistnet_bn.pth"))
    bn.eval()
    with torch.no_grad():
        out["mnistnet_bn_logits"] = tensor_json(bn(normalise(probe)))
    out["mnistnet_bn_num_batches_tracked"] = int(bn.bn1.num_batches_tracked)

    # The tutorial's checkpoint, then what one more step from it gives.
    net = MNISTNet()
    optimizer, loss = train(net, train_x[:640], train_y[:640], steps=10)
    torch.save({"epoch": 3, "model_state_dict": net.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                "loss": loss, "note": "saved by torch " + torch.__version__, "history": [1, 2, 3]},
               os.path.join(FIXTURES, "interop_checkpoint.pth"))
    out["checkpoint_loss"] = loss
    bx, by = train_x[1000:1008], train_y[1000:1008].astype(np.int64)
    out["step_pixels"] = {"dtype": "int64", "shape": [8, 1, 28, 28], "data": [int(v) for v in bx.reshape(-1)]}
    out["step_target"] = {"dtype": "int64", "shape": [8], "data": [int(v) for v in by]}
    net.train()
    optimizer.zero_grad()
    step_loss = F.cross_entropy(net(normalise(bx)), torch.from_numpy(by))
    step_loss.backward()
    optimizer.step()
    out["step_loss"] = step_loss.item()
    out["after_step"] = {name: tensor_json(p) for name, p in net.named_parameters()
                         if name in ("conv1.bias", "fc2.weight", "fc2.bias")}

    # Views, dtypes and plain values; then the same archive as other zip writers lay it out.
    views_path = os.path.join(FIXTURES, "interop_views.pth")
    torch.save(views_tree(), views_path)
    with open(views_path, "rb") as f:
        archive = f.read()
    rewrite(archive, os.path.join(FIXTURES, "interop_views_deflated_be.pth"), zipfile.ZIP_DEFLATED, big_endian=True)
    rewrite(archive, os.path.join(FIXTURES, "interop_views_zip64.pth"), zipfile.ZIP_STORED, force_zip64=True)

    tensors = {
        "weight": torch.tensor([[1.5, -2.0, 0.25], [3.0, 4.5, -0.125]]),
        "double": torch.tensor([0.1, 1e300], dtype=torch.float64),
        "index": torch.tensor([-1, 2**53 + 1, 0]),
        "pixels": torch.tensor([[0, 128], [255, 1]], dtype=torch.uint8),
        "mask": torch.tensor([True, False, False, True]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(2, 0),
    }
    with open(os.path.join(FIXTURES, "interop_tensors.safetensors"), "wb") as f:
        f.write(safetensors_bytes(tensors, {"format": "pt", "source": "gen_interop.py"}))

    with open(os.path.join(FIXTURES, "interop.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    for name in sorted(os.listdir(FIXTURES)):
        if name.startswith("interop"):
            print(f"{name}: {os.path.getsize(os.path.join(FIXTURES, name))} bytes")
    print(f"torch {torch.__version__}; MNISTNet test accuracy "
          f"{sum(int(p) == int(t) for p, t in zip(predictions, read_idx('t10k-labels-idx1-ubyte'))) / 100:.2f}%")


def describe(value, indent=""):
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list, tuple)):
                print(f"{indent}{k!r}: {type(v).__name__} of {len(v)}")
                describe(v, indent + "  ")
            else:
                print(f"{indent}{k!r}: {short(v)}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value[:8]):
            print(f"{indent}[{i}]: {short(v)}")
    else:
        print(f"{indent}{short(value)}")


def short(v):
    if isinstance(v, torch.Tensor):
        return f"tensor {str(v.dtype).replace('torch.', '')} {list(v.shape)}"
    if isinstance(v, (dict, list, tuple)):
        return f"{type(v).__name__} of {len(v)}"
    return f"{type(v).__name__} {v!r}"


def check(argv):
    path, out_file, expect_file = argv[0], None, None
    rest = argv[1:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--predictions":
            out_file = value
        elif flag == "--expect":
            expect_file = value
        else:
            sys.exit(f"unknown flag {flag}")
    obj = torch.load(path, weights_only=True)
    print(f"{path}: torch {torch.__version__} loaded it with weights_only=True: {type(obj).__name__}")
    describe(obj, "  ")
    state = obj["model_state_dict"] if "model_state_dict" in obj else obj
    model = MNISTNetBN() if any(k.startswith("bn1.") for k in state) else MNISTNet()
    model.load_state_dict(state)  # strict: every key present, every shape right
    print(f"load_state_dict into {type(model).__name__}: ok ({len(state)} tensors)")
    if "optimizer_state_dict" in obj:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        optimizer.load_state_dict(obj["optimizer_state_dict"])
        buffers = sum("momentum_buffer" in optimizer.state[p] for p in model.parameters())
        print(f"optimizer.load_state_dict into SGD: ok, {buffers} of {len(list(model.parameters()))} parameters have "
              f"a momentum buffer; lr {optimizer.param_groups[0]['lr']}, momentum {optimizer.param_groups[0]['momentum']}")
    predictions = predict(model, read_idx("t10k-images-idx3-ubyte"))
    labels = read_idx("t10k-labels-idx1-ubyte")
    print(f"test accuracy in torch: {sum(int(p) == int(t) for p, t in zip(predictions, labels)) / 100:.2f}%")
    if out_file:
        with open(out_file, "w") as f:
            f.write(predictions)
    if expect_file:
        with open(expect_file) as f:
            expected = f.read().strip()
        differ = sum(a != b for a, b in zip(predictions, expected)) + abs(len(predictions) - len(expected))
        print(f"predictions vs {expect_file}: {len(predictions) - differ} of {len(predictions)} identical")
        if differ:
            sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "check":
        check(sys.argv[2:])
    else:
        generate()
