#!/usr/bin/env bash
# Compares two builds of Ember's op benchmark (say, before and after a change) on this machine:
# runs each build's bin/bench_ops in alternation (so a change in the machine's load hits both alike)
# and prints, per op, the median over rounds and the fastest round of each, and their ratio
# before/after (above 1: the second build is faster). CPU time, one thread, by default: the steadier
# measure on a shared machine.
#
# usage: bench/compare_ops.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR [rounds (default: 11)]
#        extra arguments for bench_ops in BENCH_ARGS (default: --threads 1 --clock cpu --stat min --repeats 5)
#        BENCH=bench_sgd compares the SGD step benchmark instead (BENCH_ARGS then defaults to none)
# e.g.:  git worktree add /tmp/base e7b4a19 && cmake -S /tmp/base -B /tmp/base/build -DCMAKE_BUILD_TYPE=Release
#        cmake --build /tmp/base/build --target bench_ops && bash bench/compare_ops.sh /tmp/base/build build
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,11p' "$0" >&2; exit 2; }
bench=${BENCH:-bench_ops}
before=$1/bin/$bench after=$2/bin/$bench rounds=${3:-11}
if [[ $bench == bench_ops ]]; then args=${BENCH_ARGS:---threads 1 --clock cpu --stat min --repeats 5}; else args=${BENCH_ARGS:-}; fi
for exe in "$before" "$after"; do [ -x "$exe" ] || { echo "compare_ops.sh: $exe not built (cmake --build DIR --target $bench)" >&2; exit 2; }; done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; ++r)); do
  echo "round $r/$rounds" >&2
  # shellcheck disable=SC2086
  "$before" $args | sed 's/^/before /' >>"$out"
  # shellcheck disable=SC2086
  "$after" $args | sed 's/^/after /' >>"$out"
done

python3 - "$out" "$rounds" <<'PY'
import collections
import statistics
import sys

times = collections.defaultdict(lambda: collections.defaultdict(list))
order = []
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) != 5 or parts[1] != "op":
        continue
    side, _, op, _, value = parts
    if op not in order:
        order.append(op)
    times[op][side].append(float(value))
print(f"{sys.argv[2]} rounds; ms per iteration; ratio = before/after (above 1: after is faster)")
print(f"{'op':<14}{'before':>10}{'after':>10}{'ratio':>8}   {'min before':>11}{'min after':>11}{'ratio':>8}")
for op in order:
    b, a = statistics.median(times[op]["before"]), statistics.median(times[op]["after"])
    bm, am = min(times[op]["before"]), min(times[op]["after"])
    print(f"{op:<14}{b:>10.4f}{a:>10.4f}{b / a:>8.3f}   {bm:>11.4f}{am:>11.4f}{bm / am:>8.3f}")
PY
