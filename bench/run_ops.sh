#!/usr/bin/env bash
# Compares Ember's ops with PyTorch's at MNISTNet's shapes (batch 64, float32, forward+backward).
# Builds bin/bench_ops if needed, then runs it and bench/bench_ops.py in alternation (so that a
# change in the machine's load hits both alike) and prints the median over rounds of each op's
# median time per iteration, and the ratio torch / ember (above 1: Ember is faster). The peer is
# PyTorch on OpenBLAS (bench/peer.sh); against the reference BLAS no ratio is printed.
#
# usage: bench/run_ops.sh [build-dir (default: build)] [threads (default: 2)] [rounds (default: 3)]
#        extra arguments for both benchmarks can be given in BENCH_ARGS, e.g. BENCH_ARGS="--iters 100";
#        on a busy machine BENCH_ARGS="--stat min" (fastest repeat in each round) is the steadier measure
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
threads=${2:-2}
rounds=${3:-3}
# shellcheck source=bench/peer.sh
source "$(dirname "$0")/peer.sh"
case "$build" in /*) ;; *) build="$root/$build" ;; esac

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target bench_ops >/dev/null

out=$(mktemp)
trap 'rm -f "$out"' EXIT
export OMP_NUM_THREADS="$threads"
for ((r = 1; r <= rounds; ++r)); do
  echo "round $r/$rounds" >&2
  # shellcheck disable=SC2086
  "$build/bin/bench_ops" --threads "$threads" ${BENCH_ARGS:-} >>"$out"
  # shellcheck disable=SC2086
  "${peer_python[@]}" "$root/bench/bench_ops.py" --threads "$threads" ${BENCH_ARGS:-} >>"$out"
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fair=1
peer_fair_or_explain "$out" || fair=0
/usr/bin/python3 - "$out" "$threads" "$rounds" "$fair" <<'EOF'
import statistics
import sys

path, threads, rounds, fair = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
times = {}  # op -> {"ember_ms": [...], "torch_ms": [...]}
order = []
for line in open(path):
    parts = line.split()
    if len(parts) != 4 or parts[0] != "op":
        continue
    _, name, kind, value = parts
    if name not in times:
        times[name] = {}
        order.append(name)
    times[name].setdefault(kind, []).append(float(value))

print(f"threads {threads}, {rounds} rounds, median over rounds of ms per forward+backward iteration")
print(f"{'op':<12}{'ember_ms':>10}{'torch_ms':>10}{'torch/ember':>13}")
for name in order:
    e = times[name].get("ember_ms")
    t = times[name].get("torch_ms")
    em = statistics.median(e) if e else None
    tm = statistics.median(t) if t else None
    ratio = f"{tm / em:13.2f}" if em and tm and fair else f"{'-':>13}"
    fmt = lambda v: f"{v:10.4f}" if v is not None else f"{'-':>10}"
    print(f"{name:<12}{fmt(em)}{fmt(tm)}{ratio}")
EOF
