#!/usr/bin/env bash
# What a program built with the CUDA backend pays on a machine where it runs on the CPU: start-up
# time and peak RSS of `train_mnist --epochs 0` from the CUDA-enabled build and from the CPU-only
# build, alternating, medians of N runs. The CUDA backend is a module loaded only on a cuda request,
# so both should match (the bound: within 5% and 10 MB).
# Usage: bench/run_startup.sh [RUNS]   (builds build/ and build-nocuda/ where missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-15}"
cd "$root"
bash scripts/get_data.sh >/dev/null
[[ -x build/bin/train_mnist ]] || bash scripts/build.sh >/dev/null
[[ -x build-nocuda/bin/train_mnist ]] || EMBER_BUILD_DIR="$root/build-nocuda" bash scripts/build.sh -DEMBER_CUDA=OFF >/dev/null
grep -q "CUDA backend ON" build/configure.log || { echo "build/ has no CUDA backend: nothing to compare"; exit 1; }

measure() {  # prints "seconds max_rss_kb"
  /usr/bin/time -f "%e %M" "$1" --epochs 0 --data datasets/mnist >/dev/null 2>/tmp/ember_startup.$$ || {
    cat /tmp/ember_startup.$$; exit 1; }
  tail -n 1 /tmp/ember_startup.$$
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

: >/tmp/ember_startup_cuda.$$
: >/tmp/ember_startup_cpu.$$
for ((i = 0; i < runs; ++i)); do
  measure build/bin/train_mnist >>/tmp/ember_startup_cuda.$$
  measure build-nocuda/bin/train_mnist >>/tmp/ember_startup_cpu.$$
done
t_cuda=$(cut -d' ' -f1 /tmp/ember_startup_cuda.$$ | median)
t_cpu=$(cut -d' ' -f1 /tmp/ember_startup_cpu.$$ | median)
m_cuda=$(cut -d' ' -f2 /tmp/ember_startup_cuda.$$ | median)
m_cpu=$(cut -d' ' -f2 /tmp/ember_startup_cpu.$$ | median)
rm -f /tmp/ember_startup*.$$
echo "train_mnist --epochs 0, medians of $runs runs (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v tc="$t_cuda" -v tp="$t_cpu" -v mc="$m_cuda" -v mp="$m_cpu" 'BEGIN {
  printf "%-26s %8s %10s\n", "build", "time", "peak RSS"
  printf "%-26s %7.2fs %7.1f MB\n", "CUDA-enabled (module)", tc, mc / 1024
  printf "%-26s %7.2fs %7.1f MB\n", "CPU-only (EMBER_CUDA=OFF)", tp, mp / 1024
  printf "ratio of times (CUDA-enabled / CPU-only): %.3f; RSS difference: %+.1f MB\n", tc / tp, (mc - mp) / 1024
}'
