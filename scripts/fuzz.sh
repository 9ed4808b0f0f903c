#!/usr/bin/env bash
# Builds the checkpoint reader's libFuzzer target with clang, ASan and UBSan, and fuzzes it.
#   scripts/fuzz.sh [SECONDS] [more libFuzzer flags...]     (default 60 s; JOBS=1 by default)
# Needs clang and libclang-rt-14-dev (Debian). Findings land in $BUILD/fuzz-artifacts; the corpus
# grows in $BUILD/fuzz-corpus and is reused by the next run. Exits non-zero if the fuzzer found a crash.
set -euo pipefail
seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-fuzz}
jobs=${JOBS:-1}

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEMBER_FUZZ=ON -DEMBER_SANITIZE=ON -DEMBER_CUDA=OFF -DEMBER_NATIVE=OFF \
  -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_ember_reader fuzz_make_seeds

seeds=$build/fuzz-seeds corpus=$build/fuzz-corpus artifacts=$build/fuzz-artifacts
mkdir -p "$seeds" "$corpus" "$artifacts"
"$build/bin/fuzz_make_seeds" "$seeds"

cd "$build"
rm -f fuzz-*.log
status=0
# -jobs runs the fuzzer in a child that logs to fuzz-N.log; ASan's leak check stays on.
"$build/bin/fuzz_ember_reader" "$corpus" "$seeds" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
  -max_len=16384 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 "$@" || status=$?
for log in fuzz-*.log; do
  [ -f "$log" ] || continue
  echo "== $log (last lines)"
  tail -n 25 "$log"
done
if [ -n "$(ls -A "$artifacts")" ]; then
  echo "fuzz.sh: findings in $artifacts:" >&2
  ls -l "$artifacts" >&2
  status=1
fi
exit $status
