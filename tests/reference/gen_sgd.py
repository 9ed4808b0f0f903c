#!/usr/bin/python3
"""Writes tests/reference/fixtures/sgd.json: PyTorch SGD trajectories and StepLR schedules.

Run with Debian's torch (CPU): /usr/bin/python3 tests/reference/gen_sgd.py

"problem": a small linear regression, loss = mean((X @ w + b - Y)^2), with the starting w and b.
"sgd/<name>": torch.optim.SGD run for `steps` steps on that loss (negated when maximize is set),
  with its param groups ([w, b] in one group, or [w] and [b] in two with their own options); records
  w and b after every step ("w", "b": lists of tensors) and the loss before each step. The C++ test
  computes the same loss with Ember's ops and backward, steps Ember's SGD and compares every step.
  The float64 cases are compared tightly (the update rule itself); "float32_momentum" checks the
  float32 path with a float32 tolerance.
"steplr/<name>": the learning rates get_last_lr() gives after construction and after each step(),
  and the scheduler's state_dict() at the end.
"""
import json
import os

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "sgd.json")
SEED = 20240503
STEPS = 25


def tensor_json(t):
    t = t.detach()
    dtype = str(t.dtype).replace("torch.", "")
    return {"dtype": dtype, "shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


cases = {}


def problem():
    g = torch.Generator().manual_seed(SEED)
    X = torch.randn(8, 5, generator=g, dtype=torch.float64)
    Y = torch.randn(8, 3, generator=g, dtype=torch.float64)
    w0 = torch.randn(5, 3, generator=g, dtype=torch.float64) * 0.5
    b0 = torch.randn(3, generator=g, dtype=torch.float64) * 0.5
    # Keep every value exactly representable in float32, so the float32 case starts from the same numbers.
    return [t.float().double() for t in (X, Y, w0, b0)]


def run(name, groups, dtype=torch.float64, maximize_sign=False):
    """groups: list of (param names, options dict); the first group's options are the defaults."""
    X, Y, w0, b0 = (t.to(dtype) for t in problem())
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    by_name = {"w": w, "b": b}
    param_groups = [dict(params=[by_name[n] for n in names], **opts) for names, opts in groups]
    opt = torch.optim.SGD(param_groups, lr=groups[0][1]["lr"])
    ws, bs, losses = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((X @ w + b - Y) ** 2).mean()
        if maximize_sign:
            loss = -loss
        losses.append(loss.item())
        loss.backward()
        opt.step()
        ws.append(tensor_json(w))
        bs.append(tensor_json(b))
    cases["sgd/" + name] = {
        "dtype": str(dtype).replace("torch.", ""),
        "negate_loss": maximize_sign,
        "groups": [{"params": names, **opts} for names, opts in groups],
        "loss": losses,
        "w": ws,
        "b": bs,
    }


def steplr(name, lrs, step_size, gamma, steps=10):
    params = [torch.zeros(1, requires_grad=True) for _ in lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0])
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma)
    history = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        history.append(sched.get_last_lr())
    sd = sched.state_dict()
    cases["steplr/" + name] = {
        "lrs": lrs, "step_size": step_size, "gamma": gamma, "history": history,
        "state_dict": {k: sd[k] for k in ("step_size", "gamma", "base_lrs", "last_epoch", "_last_lr")},
        "group_lrs": [g["lr"] for g in opt.param_groups],
    }


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    X, Y, w0, b0 = problem()
    cases["problem"] = {"X": tensor_json(X), "Y": tensor_json(Y), "w0": tensor_json(w0), "b0": tensor_json(b0),
                        "steps": STEPS}
    both = ["w", "b"]
    run("plain", [(both, dict(lr=0.1))])
    run("momentum", [(both, dict(lr=0.05, momentum=0.9))])
    run("dampening", [(both, dict(lr=0.05, momentum=0.9, dampening=0.3))])
    run("weight_decay", [(both, dict(lr=0.05, weight_decay=0.1))])
    run("weight_decay_momentum", [(both, dict(lr=0.05, momentum=0.5, weight_decay=0.01))])
    run("nesterov", [(both, dict(lr=0.05, momentum=0.9, nesterov=True))])
    run("maximize", [(both, dict(lr=0.05, momentum=0.5, maximize=True))], maximize_sign=True)
    run("everything", [(both, dict(lr=0.03, momentum=0.8, weight_decay=0.05, nesterov=True, maximize=True))],
        maximize_sign=True)
    run("two_groups", [(["w"], dict(lr=0.1)), (["b"], dict(lr=0.01, momentum=0.9, dampening=0.1))])
    run("float32_momentum", [(both, dict(lr=0.05, momentum=0.9))], dtype=torch.float32)
    steplr("one_group", [0.1], step_size=3, gamma=0.5)
    steplr("two_groups", [0.1, 0.03], step_size=2, gamma=0.1, steps=9)
    with open(OUT, "w") as f:
        items = [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in cases.items()]
        f.write("{\n" + ",\n".join(items) + "\n}\n")
    print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes -> {OUT}")


if __name__ == "__main__":
    main()
