#!/usr/bin/python3
"""Writes tests/reference/fixtures/optim.json: PyTorch's Adam, AdamW, RMSprop and Adagrad trajectories,
the learning-rate sequences of its schedulers, and clip_grad_norm_/clip_grad_value_ results.

Run with Debian's torch (CPU): /usr/bin/python3 tests/reference/gen_optim.py

"problem": the small linear regression of gen_sgd.py, loss = mean((X @ w + b - Y)^2).
"<Kind>/<name>": torch.optim.<Kind> run for `steps` steps on that loss (negated when maximize is set),
  with its param groups ([w, b] in one group, or [w] and [b] with their own options); records w and b
  after every step, the loss before each step, and the optimizer's state dict at the end ("state":
  per parameter index, each state entry as a tensor or a number; "param_groups" as PyTorch writes them).
"sched/<name>": a scheduler over an SGD (or Adam) optimizer with one or two groups: get_last_lr()
  after construction and after each step, the groups' momentum (or beta1) after each step when the
  scheduler cycles it, and the numbers of state_dict() halfway ("resume_at") and at the end.
"clip/<name>": gradients before and after clip_grad_norm_ / clip_grad_value_, and the returned norm.

Crossing between PyTorch and Ember (a two-layer net fc1 -> relu -> fc2, 6 -> 12 -> 3, cross-entropy on
batches that both sides compute from a formula, crossing_batch below):
"crossing/torch_<opt>": PyTorch trains 10 steps (SGD with momentum and StepLR, or Adam and
  CosineAnnealingLR, the scheduler stepped every step), saves fixtures/crossing_torch_<opt>.pth
  ({"epoch", "step", "model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
  "loss": the last loss, a 0-dim tensor}) with torch.save, then continues 20 steps: the losses and the
  final weights and rates. Ember resumes the file and must follow (tests/test_optim_crossing.cpp).
"crossing/ember_<opt>": where fixtures/crossing_ember_<opt>.pth exists (written by Ember:
  build/bin/sd_crossing fixtures/crossing_torch_<opt>.pth fixtures/crossing_ember_<opt>.pth, which
  resumes PyTorch's file for 10 steps and saves at step 20), PyTorch loads it with
  torch.load(weights_only=True), no option, resumes and trains 10 more steps: the losses and weights.
So after changing the crossing, run this script, then sd_crossing for sgd and adam, then this script again.
"""
import json
import math
import os

import torch

from gen_sgd import SEED, STEPS, problem, tensor_json  # the same regression problem as SGD's fixtures

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "optim.json")


def plain(v):
    """A state-dict value as JSON: tensors as tensor_json, tuples as lists, numbers as they are."""
    if isinstance(v, torch.Tensor):
        return tensor_json(v)
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    return v


cases = {}


KEEP = {  # the group keys Ember has, per kind (PyTorch adds foreach, capturable, differentiable, fused)
    "Adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "AdamW": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
    "RMSprop": ["lr", "momentum", "alpha", "eps", "centered", "weight_decay", "maximize"],
    "Adagrad": ["lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "maximize"],
}


def run(kind, name, groups, dtype=torch.float64, negate=False):
    """groups: list of (param names, options dict); the first group's options are the defaults."""
    X, Y, w0, b0 = (t.to(dtype) for t in problem())
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    by_name = {"w": w, "b": b}
    param_groups = [dict(params=[by_name[n] for n in names], **opts) for names, opts in groups]
    opt = getattr(torch.optim, kind)(param_groups, **groups[0][1])
    ws, bs, losses = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = ((X @ w + b - Y) ** 2).mean()
        if negate:
            loss = -loss
        losses.append(loss.item())
        loss.backward()
        opt.step()
        ws.append(tensor_json(w))
        bs.append(tensor_json(b))
    sd = opt.state_dict()
    cases[kind + "/" + name] = {
        "kind": kind,
        "dtype": str(dtype).replace("torch.", ""),
        "negate_loss": negate,
        "groups": [{"params": names, **opts} for names, opts in groups],
        "loss": losses,
        "w": ws,
        "b": bs,
        "state": plain(sd["state"]),
        "param_groups": [{k: plain(g[k]) for k in KEEP[kind] + ["params"]} for g in sd["param_groups"]],
    }


def optimizers():
    both = ["w", "b"]
    f32 = torch.float32
    run("Adam", "plain", [(both, dict(lr=0.05))])
    run("Adam", "betas_eps", [(both, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3))])
    run("Adam", "weight_decay", [(both, dict(lr=0.05, weight_decay=0.1))])
    run("Adam", "amsgrad", [(both, dict(lr=0.1, betas=(0.5, 0.9), amsgrad=True))])
    run("Adam", "maximize", [(both, dict(lr=0.05, maximize=True))], negate=True)
    run("Adam", "everything", [(both, dict(lr=0.08, betas=(0.7, 0.95), eps=1e-6, weight_decay=0.05, amsgrad=True,
                                           maximize=True))], negate=True)
    run("Adam", "two_groups", [(["w"], dict(lr=0.05)), (["b"], dict(lr=0.01, betas=(0.5, 0.6), amsgrad=True))])
    run("Adam", "float32", [(both, dict(lr=0.05))], dtype=f32)
    run("Adam", "float32_amsgrad", [(both, dict(lr=0.1, betas=(0.5, 0.9), amsgrad=True, weight_decay=0.01))], dtype=f32)
    run("AdamW", "plain", [(both, dict(lr=0.05))])
    run("AdamW", "weight_decay_amsgrad", [(both, dict(lr=0.1, betas=(0.5, 0.9), weight_decay=0.3, amsgrad=True))])
    run("AdamW", "maximize", [(both, dict(lr=0.05, weight_decay=0.1, maximize=True))], negate=True)
    run("AdamW", "two_groups", [(["w"], dict(lr=0.05, weight_decay=0.2)), (["b"], dict(lr=0.02, weight_decay=0))])
    run("AdamW", "float32", [(both, dict(lr=0.05, weight_decay=0.1))], dtype=f32)
    run("RMSprop", "plain", [(both, dict(lr=0.01))])
    run("RMSprop", "alpha_eps", [(both, dict(lr=0.01, alpha=0.9, eps=1e-4))])
    run("RMSprop", "momentum", [(both, dict(lr=0.005, momentum=0.9))])
    run("RMSprop", "centered", [(both, dict(lr=0.01, centered=True))])
    run("RMSprop", "centered_momentum", [(both, dict(lr=0.005, centered=True, momentum=0.5))])
    run("RMSprop", "weight_decay", [(both, dict(lr=0.01, weight_decay=0.1))])
    run("RMSprop", "maximize", [(both, dict(lr=0.01, maximize=True))], negate=True)
    run("RMSprop", "everything", [(both, dict(lr=0.004, alpha=0.95, eps=1e-6, weight_decay=0.05, momentum=0.7,
                                              centered=True, maximize=True))], negate=True)
    run("RMSprop", "two_groups", [(["w"], dict(lr=0.01)), (["b"], dict(lr=0.002, momentum=0.9, centered=True))])
    run("RMSprop", "float32", [(both, dict(lr=0.01, momentum=0.5))], dtype=f32)
    run("Adagrad", "plain", [(both, dict(lr=0.1))])
    run("Adagrad", "lr_decay", [(both, dict(lr=0.1, lr_decay=0.05))])
    run("Adagrad", "initial_accumulator", [(both, dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3))])
    run("Adagrad", "weight_decay", [(both, dict(lr=0.1, weight_decay=0.1))])
    run("Adagrad", "maximize", [(both, dict(lr=0.1, maximize=True))], negate=True)
    run("Adagrad", "everything", [(both, dict(lr=0.2, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1,
                                              eps=1e-6, maximize=True))], negate=True)
    run("Adagrad", "two_groups", [(["w"], dict(lr=0.1)), (["b"], dict(lr=0.3, lr_decay=0.1))])
    run("Adagrad", "float32", [(both, dict(lr=0.1, lr_decay=0.01))], dtype=f32)


def sched_numbers(sd):
    """The scheduler state dict without PyTorch-only internals (verbose, the get_lr guard, a bound method)."""
    out = {}
    for k, v in sd.items():
        if k in ("verbose", "_get_lr_called_within_step", "anneal_func"):
            continue
        if k == "_schedulers":
            v = [sched_numbers(s) for s in v]
        elif k == "milestones" and not isinstance(v, list):
            v = sorted(v.elements())  # a Counter
        out[k] = plain(v)
    return out


def sched(name, make, lrs, steps, spec, opt_kind="SGD", resume_at=None, momentum=None):
    params = [torch.zeros(1, requires_grad=True) for _ in lrs]
    kw = {} if opt_kind != "SGD" else {"momentum": momentum or 0.0}
    opt = getattr(torch.optim, opt_kind)([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0], **kw)
    s = make(opt)
    history = [s.get_last_lr()]
    moms = []

    def mom():
        return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
    moms.append(mom())
    mid = None
    for i in range(steps):
        opt.step()
        s.step()
        history.append(list(s.get_last_lr()))
        moms.append(mom())
        if resume_at is not None and i + 1 == resume_at:
            mid = sched_numbers(s.state_dict())
    cases["sched/" + name] = {
        "lrs": lrs, "optimizer": opt_kind, "momentum": momentum, "spec": spec, "history": history,
        "momentums": moms, "resume_at": resume_at, "state_at_resume": mid, "state_dict": sched_numbers(s.state_dict()),
        "group_lrs": [g["lr"] for g in opt.param_groups],
    }


def schedulers():
    S = torch.optim.lr_scheduler
    sched("multistep", lambda o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), [0.1, 0.02], 12,
          {"type": "MultiStepLR", "milestones": [2, 5, 5, 9], "gamma": 0.3}, resume_at=6)
    sched("exponential", lambda o: S.ExponentialLR(o, gamma=0.9), [0.1], 15,
          {"type": "ExponentialLR", "gamma": 0.9}, resume_at=7)
    sched("cosine", lambda o: S.CosineAnnealingLR(o, T_max=10), [0.1, 0.05], 25,
          {"type": "CosineAnnealingLR", "T_max": 10, "eta_min": 0.0}, resume_at=12)
    sched("cosine_eta_min", lambda o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001), [0.1], 20,
          {"type": "CosineAnnealingLR", "T_max": 7, "eta_min": 0.001}, resume_at=9)
    sched("linear", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=6), [0.1, 0.3], 10,
          {"type": "LinearLR", "start_factor": 0.25, "end_factor": 1.0, "total_iters": 6}, resume_at=3)
    sched("linear_down", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=4), [0.1], 7,
          {"type": "LinearLR", "start_factor": 1.0, "end_factor": 0.1, "total_iters": 4}, resume_at=2)
    sched("onecycle_sgd", lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20), [0.1, 0.1], 19,
          {"type": "OneCycleLR", "max_lr": [0.5], "total_steps": 20}, momentum=0.9, resume_at=8)
    sched("onecycle_adam", lambda o: S.OneCycleLR(o, max_lr=[0.01, 0.02], total_steps=15, pct_start=0.4,
                                                  div_factor=10.0, final_div_factor=100.0), [0.001, 0.001], 14,
          {"type": "OneCycleLR", "max_lr": [0.01, 0.02], "total_steps": 15, "pct_start": 0.4, "div_factor": 10.0,
           "final_div_factor": 100.0}, opt_kind="Adam", resume_at=5)
    sched("onecycle_linear_three_phase", lambda o: S.OneCycleLR(o, max_lr=0.2, epochs=3, steps_per_epoch=4,
                                                                anneal_strategy="linear", three_phase=True,
                                                                cycle_momentum=False), [0.1], 11,
          {"type": "OneCycleLR", "max_lr": [0.2], "total_steps": 12, "anneal_strategy": "linear", "three_phase": True,
           "cycle_momentum": False}, resume_at=6)

    def warmup_cosine(o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.CosineAnnealingLR(o, T_max=8)],
                              milestones=[3])
    sched("sequential_warmup_cosine", warmup_cosine, [0.1], 14,
          {"type": "SequentialLR", "milestones": [3],
           "schedulers": [{"type": "LinearLR", "start_factor": 0.1, "end_factor": 1.0, "total_iters": 3},
                          {"type": "CosineAnnealingLR", "T_max": 8, "eta_min": 0.0}]}, resume_at=5)

    def three(o):
        return S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.5), S.StepLR(o, step_size=2, gamma=0.1),
                                  S.MultiStepLR(o, milestones=[1, 3], gamma=0.5)], milestones=[2, 6])
    sched("sequential_three", three, [0.2, 0.1], 10,
          {"type": "SequentialLR", "milestones": [2, 6],
           "schedulers": [{"type": "ExponentialLR", "gamma": 0.5}, {"type": "StepLR", "step_size": 2, "gamma": 0.1},
                          {"type": "MultiStepLR", "milestones": [1, 3], "gamma": 0.5}]}, resume_at=4)


def clip():
    g = torch.Generator().manual_seed(SEED + 1)
    grads = [torch.randn(4, 3, generator=g), torch.randn(5, generator=g) * 3, torch.randn(2, 2, generator=g) * 0.1]

    def params():
        ps = [torch.zeros_like(x, requires_grad=True) for x in grads]
        for p, x in zip(ps, grads):
            p.grad = x.clone()
        return ps
    for name, max_norm, norm_type in [("norm2", 1.0, 2.0), ("norm2_no_clip", 100.0, 2.0), ("norm1", 2.0, 1.0),
                                      ("norm_inf", 0.5, math.inf), ("norm3", 1.5, 3.0)]:
        ps = params()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
        cases["clip/" + name] = {"max_norm": max_norm, "norm_type": "inf" if math.isinf(norm_type) else norm_type,
                                 "grads": [tensor_json(x) for x in grads], "total_norm": total.item(),
                                 "after": [tensor_json(p.grad) for p in ps]}
    ps = params()
    torch.nn.utils.clip_grad_value_(ps, 0.8)
    cases["clip/value"] = {"clip_value": 0.8, "grads": [tensor_json(x) for x in grads],
                           "after": [tensor_json(p.grad) for p in ps]}


def crossing_batch(step, batch=8, features=6, classes=3):
    """The batch for a training step, from a formula both sides compute alike (sin in double, then float32)."""
    x = [[math.sin(1.0 + 0.37 * step + 1.3 * i + 0.71 * j) for j in range(features)] for i in range(batch)]
    y = [(5 * step + 2 * i) % classes for i in range(batch)]
    return torch.tensor(x, dtype=torch.float64).float(), torch.tensor(y, dtype=torch.int64)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 12)
        self.fc2 = torch.nn.Linear(12, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def crossing_setup(kind, model):
    if kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    opt = torch.optim.Adam(model.parameters(), lr=0.02, betas=(0.9, 0.99), weight_decay=1e-3)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=25, eta_min=1e-4)


def train_steps(model, opt, sched, first, count):
    losses = []
    for step in range(first, first + count):
        x, y = crossing_batch(step)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses, loss


def record(model, opt, losses):
    return {"losses": losses, "weights": {k: tensor_json(v) for k, v in model.state_dict().items()},
            "lrs": [g["lr"] if not torch.is_tensor(g["lr"]) else g["lr"].item() for g in opt.param_groups]}


def crossing():
    fixtures = os.path.dirname(OUT)
    for kind in ("sgd", "adam"):
        torch.manual_seed(SEED + 7)
        model = Net()
        opt, sched = crossing_setup(kind, model)
        _, loss = train_steps(model, opt, sched, 0, 10)
        path = os.path.join(fixtures, f"crossing_torch_{kind}.pth")
        torch.save({"epoch": 10, "step": 10, "model_state_dict": model.state_dict(),
                    "optimizer_state_dict": opt.state_dict(), "scheduler_state_dict": sched.state_dict(),
                    "loss": loss}, path)
        losses, _ = train_steps(model, opt, sched, 10, 20)
        cases["crossing/torch_" + kind] = record(model, opt, losses)

        ember = os.path.join(fixtures, f"crossing_ember_{kind}.pth")
        if not os.path.exists(ember):
            print(f"no {ember} yet: write it with build/bin/sd_crossing, then run this script again")
            continue
        ckpt = torch.load(ember, weights_only=True)  # torch 1.13 refuses any Python float here
        model = Net()
        opt, sched = crossing_setup(kind, model)
        model.load_state_dict(ckpt["model_state_dict"])
        opt.load_state_dict(ckpt["optimizer_state_dict"])
        sched.load_state_dict(ckpt["scheduler_state_dict"])
        step = int(ckpt["step"])
        losses, _ = train_steps(model, opt, sched, step, 10)
        case = record(model, opt, losses)
        case["loaded"] = {"step": step, "epoch": int(ckpt["epoch"]), "loss": float(ckpt["loss"]),
                          "lr_type": type(opt.param_groups[0]["lr"]).__name__}
        cases["crossing/ember_" + kind] = case


def main():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    X, Y, w0, b0 = problem()
    cases["problem"] = {"X": tensor_json(X), "Y": tensor_json(Y), "w0": tensor_json(w0), "b0": tensor_json(b0),
                        "steps": STEPS}
    optimizers()
    schedulers()
    clip()
    crossing()
    with open(OUT, "w") as f:
        items = [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) for k, v in cases.items()]
        f.write("{\n" + ",\n".join(items) + "\n}\n")
    print(f"{len(cases)} cases, {os.path.getsize(OUT)} bytes -> {OUT}")


if __name__ == "__main__":
    main()
