#!/usr/bin/env bash
# The layer benchmark: forward + backward of the layers users train (bench/layer_cases.txt: MNISTNet,
# DCGAN's discriminator, ResNet-18's 3x3, stride-2 and 1x1 convolutions at 28x28 and 32x32, depthwise,
# the VAE's Linear, BatchNorm2d and pooling), Ember (bin/bench_layers) and PyTorch on OpenBLAS
# (bench/bench_layers.py, see bench/peer.sh) in the same run, at each thread count in turn. Prints,
# per thread count, each case's median ms, the ratio torch / ember (above 1: Ember is faster) and
# their geometric mean; no ratio against a reference-BLAS PyTorch. The load average is printed
# before and after: on a busy machine the figures say less.
#
# usage: bench/run_layers.sh [build-dir (default: build)] [threads (default: "1 2")]
#        env BENCH_ARGS for both programs, e.g. BENCH_ARGS="--repeats 7 --only mnist_conv1,mnist_conv2"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
thread_counts=${2:-"1 2"}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
# shellcheck source=bench/peer.sh
source "$root/bench/peer.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target bench_layers >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
for t in $thread_counts; do
  echo "threads $t: ember" >&2
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=$t "$build/bin/bench_layers" --cases "$root/bench/layer_cases.txt" --threads "$t" ${BENCH_ARGS:-} \
    >"$out/ember.$t"
  echo "threads $t: pytorch" >&2
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=$t "${peer_python[@]}" "$root/bench/bench_layers.py" --cases "$root/bench/layer_cases.txt" \
    --threads "$t" ${BENCH_ARGS:-} >"$out/torch.$t"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 "^ember conv2d:" "$out/ember.${thread_counts%% *}" || true
first=${thread_counts%% *}
fair=1
peer_fair_or_explain "$out/torch.$first" || fair=0
/usr/bin/python3 - "$out" "$fair" $thread_counts <<'PY'
import math, sys
out, fair, counts = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
def read(path, key):
    vals, order = {}, []
    for line in open(path):
        p = line.split()
        if len(p) == 4 and p[0] == "layer" and p[2] == key:
            vals[p[1]] = float(p[3]); order.append(p[1])
    return vals, order
for t in counts:
    e, order = read(f"{out}/ember.{t}", "ember_ms")
    tv, torder = read(f"{out}/torch.{t}", "torch_ms")
    for n in torder:
        if n not in e: order.append(n)
    print(f"\nthreads {t}: median ms per forward+backward")
    print(f"{'layer':<18}{'ember_ms':>10}{'torch_ms':>10}{'torch/ember':>13}")
    logs, slower = [], []
    for n in order:
        em, tm = e.get(n), tv.get(n)
        r = tm / em if em and tm else None
        if r and fair:
            logs.append(math.log(r))
            if r < 1: slower.append(n)
        f = lambda v: f"{v:10.3f}" if v is not None else f"{'-':>10}"
        print(f"{n:<18}{f(em)}{f(tm)}" + (f"{r:13.2f}" if r and fair else f"{'-':>13}"))
    if logs:
        print(f"{'geometric mean':<38}{math.exp(sum(logs) / len(logs)):13.2f}   ({len(logs)} rows; "
              f"{len(slower)} where Ember is slower{': ' + ', '.join(slower) if slower else ''})")
PY
