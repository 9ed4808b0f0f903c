#!/usr/bin/env bash
# The model benchmark: training steps of MNISTNet, MNISTNet-BN, ResNet-18 (1x28x28, batch 64), the
# DCGAN discriminator and the VAE (batch 128), Ember (bin/bench_models) next to its PyTorch twin on
# OpenBLAS (bench/bench_models.py, see bench/peer.sh), one process per model and side, at each
# thread count. Prints s/step, peak RSS and the ratios torch / ember (above 1: Ember is faster or
# smaller); none against a reference-BLAS PyTorch. Load average before and after.
#
# usage: bench/run_models.sh [build-dir (default: build)] [threads (default: "1 2")] [steps (default: 20)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
thread_counts=${2:-"1 2"}
steps=${3:-20}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
# shellcheck source=bench/peer.sh
source "$root/bench/peer.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target bench_models >/dev/null
models="mnistnet mnistnet_bn resnet18 dcgan_d vae"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
for t in $thread_counts; do
  for m in $models; do
    echo "threads $t: $m" >&2
    OMP_NUM_THREADS=$t "$build/bin/bench_models" --model "$m" --threads "$t" --steps "$steps" >>"$out/ember.$t"
    OMP_NUM_THREADS=$t "${peer_python[@]}" "$root/bench/bench_models.py" --model "$m" --threads "$t" \
      --steps "$steps" >>"$out/torch.$t"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
first=${thread_counts%% *}
fair=1
peer_fair_or_explain "$out/torch.$first" || fair=0
/usr/bin/python3 - "$out" "$fair" $thread_counts <<'PY'
import sys
out, fair, counts = sys.argv[1], sys.argv[2] == "1", sys.argv[3:]
def read(path, key):
    rows = {}
    for line in open(path):
        p = line.split()
        if len(p) == 6 and p[0] == "model" and p[2] == key:
            rows[p[1]] = (float(p[3]), float(p[5]))
    return rows
for t in counts:
    e, tv = read(f"{out}/ember.{t}", "ember_s_per_step"), read(f"{out}/torch.{t}", "torch_s_per_step")
    print(f"\nthreads {t}: median s per training step, peak RSS")
    print(f"{'model':<13}{'ember_s':>10}{'torch_s':>10}{'torch/ember':>13}{'ember_MB':>10}{'torch_MB':>10}{'torch/ember':>13}")
    for m in e:
        (es, em), (ts, tm) = e[m], tv.get(m, (None, None))
        r = lambda a, b: f"{a / b:13.2f}" if fair and a and b else f"{'-':>13}"
        print(f"{m:<13}{es:10.4f}{ts if ts else 0:10.4f}{r(ts, es)}{em:10.0f}{tm if tm else 0:10.0f}{r(tm, em)}")
PY
