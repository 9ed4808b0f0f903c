#!/usr/bin/python3
"""torch.save / torch.load of the state dict bench/bench_io.cpp uses: 24 float32 tensors of
2048x2048 (384 MiB). Run with Debian's torch (/usr/bin/python3); bench/run_io.sh runs both.

  bench_io.py [--dir DIR] [--warmup N] [--repeats N] [--tensors N] [--size N]
  bench_io.py --load-only FILE     (one load, then its peak RSS: run in a fresh process)
Prints one "name seconds" line per measurement. Each timed step starts after os.sync(), so that no
earlier write is still on its way to the disk. "save_fsync" is torch.save made as durable as
ember::save: the file and its folder fsynced after it."""
import argparse
import os
import resource
import time

import torch


def fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", default=".")
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tensors", type=int, default=24)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--load-only")
    a = p.parse_args()

    if a.load_only:
        os.sync()
        base = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024
        t0 = time.perf_counter()
        torch.load(a.load_only)
        t1 = time.perf_counter()
        print(f"load_only {t1 - t0:.4f}")
        print(f"baseline_rss_kib {base}")
        print(f"peak_rss_kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
        print(f"file_kib {os.path.getsize(a.load_only) // 1024}")
        return

    g = torch.Generator().manual_seed(0)
    sd = {f"layer{i}.weight": torch.randn(a.size, a.size, generator=g) for i in range(a.tensors)}
    mib = a.tensors * a.size * a.size * 4 / 2**20
    print(f"# torch {torch.__version__}: {a.tensors} float32 tensors of {a.size}x{a.size}, {mib:.0f} MiB, in {a.dir}")
    path = os.path.join(a.dir, "bench_io.pt")
    for r in range(a.warmup + a.repeats):
        if os.path.exists(path):
            os.remove(path)
        os.sync()
        t0 = time.perf_counter()
        torch.save(sd, path)
        t1 = time.perf_counter()
        os.remove(path)
        os.sync()
        t2 = time.perf_counter()
        torch.save(sd, path)
        fsync(path)
        fsync(os.path.dirname(os.path.abspath(path)))
        t3 = time.perf_counter()
        os.sync()
        t4 = time.perf_counter()
        back = torch.load(path)
        t5 = time.perf_counter()
        del back
        if r < a.warmup:
            continue  # untimed rounds: the first writes of a process meet cold memory
        print(f"save {t1 - t0:.4f}\nsave_fsync {t3 - t2:.4f}\nload {t5 - t4:.4f}", flush=True)


if __name__ == "__main__":
    main()
