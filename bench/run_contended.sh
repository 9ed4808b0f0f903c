#!/usr/bin/env bash
# The training epoch on a busy machine: `hogs` CPU-bound processes (default: one per core) spin
# beside it while Ember's default (automatic thread count), Ember --threads 1 and PyTorch's default
# (Debian's python3-torch, its own thread count) each train one epoch of MNISTNet, in turn, under the
# same load, `repeats` times. Prints the medians and the ratios to Ember --threads 1; the issue's
# bound is default / --threads 1 <= 1.15. Also prints the load average before and after.
# Usage: bench/run_contended.sh [repeats=3] [train_size=0 (all 60000)] [hogs=nproc]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repeats="${1:-3}"
train_size="${2:-0}"
hogs="${3:-$(nproc)}"
for v in "$repeats" "$train_size" "$hogs"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "run_contended.sh: expected whole numbers (repeats train_size hogs), found '$v'" >&2; exit 2; }
done
((repeats >= 1)) || { echo "run_contended.sh: repeats must be >= 1" >&2; exit 2; }
build="${EMBER_BUILD_DIR:-$root/build}"
data="$root/datasets/mnist"
[[ -x "$build/bin/train_mnist" ]] || bash "$root/scripts/build.sh"
[[ -f "$data/train-images-idx3-ubyte" ]] || bash "$root/scripts/get_data.sh"
/usr/bin/python3 -c "import torch" 2>/dev/null || bash "$root/scripts/setup.sh" --torch
# shellcheck source=bench/peer.sh
source "$root/bench/peer.sh"

out="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf -- "$out"
}
trap cleanup EXIT
for ((h = 0; h < hogs; h++)); do
  sh -c 'while :; do :; done' &
  pids+=($!)
done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) with $hogs CPU-bound processes on $(nproc) cores" >&2
sleep 1

sizes=(--train-size "$train_size")
for ((i = 1; i <= repeats; i++)); do
  "$build/bin/train_mnist" --data "$data" --epochs 1 --test-size 1000 "${sizes[@]}" --log-interval 100000 >"$out/default.$i"
  "$build/bin/train_mnist" --data "$data" --epochs 1 --test-size 1000 "${sizes[@]}" --log-interval 100000 \
    --threads 1 >"$out/one.$i"
  "${peer_python[@]}" "$root/bench/train_mnist_torch.py" --data "$data" --epochs 1 --threads 0 \
    --train-size "$train_size" >"$out/torch.$i"
  echo "run $i: default $(grep -o 'train [0-9.]* s' "$out/default.$i"), --threads 1 $(grep -o 'train [0-9.]* s' "$out/one.$i"), torch $(grep -o 'train_s [0-9.]*' "$out/torch.$i") ($(grep -o 'threads [0-9]*' "$out/torch.$i"))" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fair=1
peer_fair_or_explain "$out/torch.1" || fair=0
python3 - "$out" "$repeats" "$train_size" "$fair" <<'PY'
import re, statistics, sys
out, n, size, fair = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) or 60000, sys.argv[4] == "1"
def ember(name):
    return [float(re.search(r"train ([0-9.]+) s", open(f"{out}/{name}.{i}").read()).group(1)) for i in range(1, n + 1)]
d, one = ember("default"), ember("one")
t = [float(re.search(r"train_s ([0-9.]+)", open(f"{out}/torch.{i}").read()).group(1)) for i in range(1, n + 1)]
threads = re.search(r"(\d+) threads? \(([^)]*)\)", open(f"{out}/default.1").read())
md, mo, mt = statistics.median(d), statistics.median(one), statistics.median(t)
print(f"{f'epoch of {size} images, busy':28}{'median s':>10}{'/ --threads 1':>15}")
print(f"{'ember default':28}{md:10.2f}{md / mo:14.2f}x   (started with {threads.group(1)}, {threads.group(2)})")
print(f"{'ember --threads 1':28}{mo:10.2f}{1:14.2f}x")
print(f"{'pytorch default':28}{mt:10.2f}" + (f"{mt / mo:14.2f}x" if fair else f"{'-':>15}"))
print(f"(medians of {n} runs each, in turn; bound: ember default <= 1.15x ember --threads 1)")
PY
