#!/usr/bin/env bash
# Training benchmark: one epoch of MNISTNet (batch 64, lr 0.01, momentum 0.5) and the evaluation of
# the 10,000 test images, Ember's train_mnist next to the same loop in PyTorch (Debian's
# python3-torch on OpenBLAS, see bench/peer.sh), same thread count, alternating, repeated; prints
# medians and ratios (none against the reference BLAS), and peak RSS.
# Usage: bench/run_train.sh [repeats=5] [threads=2]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repeats="${1:-5}"
threads="${2:-2}"
build="${EMBER_BUILD_DIR:-$root/build}"
data="$root/datasets/mnist"
[[ -x "$build/bin/train_mnist" ]] || bash "$root/scripts/build.sh"
[[ -f "$data/train-images-idx3-ubyte" ]] || bash "$root/scripts/get_data.sh"
/usr/bin/python3 -c "import torch" 2>/dev/null || bash "$root/scripts/setup.sh" --torch
# shellcheck source=bench/peer.sh
source "$root/bench/peer.sh"
out="$(mktemp -d)"
for ((i = 1; i <= repeats; i++)); do
  /usr/bin/time -f "ember peak_rss_mb %M" "$build/bin/train_mnist" --data "$data" --epochs 1 --threads "$threads" \
    --log-interval 100000 >"$out/ember.$i" 2>"$out/ember_rss.$i"
  OMP_NUM_THREADS="$threads" "${peer_python[@]}" "$root/bench/train_mnist_torch.py" --data "$data" --epochs 1 \
    --threads "$threads" >"$out/torch.$i"
  echo "run $i: $(grep -o 'train [0-9.]* s' "$out/ember.$i"), torch $(grep -o 'train_s [0-9.]*' "$out/torch.$i")" >&2
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fair=1
peer_fair_or_explain "$out/torch.1" || fair=0
python3 - "$out" "$repeats" "$fair" <<'PY'
import re, statistics, sys
out, n, fair = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def med(xs): return statistics.median(xs)
et, ee, tt, te, er, tr, ea, ta = [], [], [], [], [], [], [], []
for i in range(1, n + 1):
    e = open(f"{out}/ember.{i}").read()
    m = re.search(r"train ([0-9.]+) s .*test ([0-9.]+) s", e)
    et.append(float(m.group(1))); ee.append(float(m.group(2)))
    ea.append(float(re.search(r"Accuracy: [0-9]+/[0-9]+ \(([0-9.]+)%\)", e).group(1)))  # not the progress lines' (0%)
    er.append(float(re.search(r"peak_rss_mb (\d+)", open(f"{out}/ember_rss.{i}").read()).group(1)) / 1024)
    t = open(f"{out}/torch.{i}").read()
    m = re.search(r"train_s ([0-9.]+) test_s ([0-9.]+) accuracy ([0-9.]+)", t)
    tt.append(float(m.group(1))); te.append(float(m.group(2))); ta.append(float(m.group(3)))
    tr.append(float(re.search(r"peak_rss_mb (\d+)", t).group(1)))
def ratio(t, e): return f"{t / e:8.2f}x" if fair else f"{'-':>9}"
print(f"{'':22}{'ember':>10}{'pytorch':>10}{'ratio':>8}")
print(f"{'train epoch (s)':22}{med(et):10.2f}{med(tt):10.2f}{ratio(med(tt), med(et))}")
print(f"{'test 10k images (s)':22}{med(ee):10.3f}{med(te):10.3f}{ratio(med(te), med(ee))}")
print(f"{'peak RSS (MB)':22}{med(er):10.0f}{med(tr):10.0f}{ratio(med(tr), med(er))}")
print(f"{'accuracy after 1 ep':22}{med(ea):10.2f}{med(ta):10.2f}")
print(f"(medians of {n} alternating runs; ratio = pytorch / ember, higher is better for ember)")
PY
rm -rf "$out"
