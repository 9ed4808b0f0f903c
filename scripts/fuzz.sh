#!/usr/bin/env bash
# Builds a reader's libFuzzer target with clang, ASan and UBSan, and fuzzes it.
#   [TARGET=fuzz_ember_reader] scripts/fuzz.sh [SECONDS] [more libFuzzer flags...]   (default 60 s; JOBS=1)
# Targets: fuzz_ember_reader (native format), fuzz_pickle (.pth: unpickler and archive), fuzz_zip
# (the zip container), fuzz_safetensors, fuzz_idx (IDX raw and gzip), fuzz_onnx (ONNX weights; built
# only where ONNX support is on: libonnx-dev).
# Needs clang and libclang-rt-14-dev (Debian). Findings land in $BUILD/fuzz-artifacts; the corpus
# grows in $BUILD/fuzz-corpus and is reused by the next run. Exits non-zero if the fuzzer found a crash.
set -euo pipefail
seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-fuzz}
jobs=${JOBS:-1}
target=${TARGET:-fuzz_ember_reader}

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DEMBER_FUZZ=ON -DEMBER_SANITIZE=ON -DEMBER_CUDA=OFF -DEMBER_NATIVE=OFF \
  -DEMBER_BUILD_TESTS=OFF -DEMBER_BUILD_EXAMPLES=OFF >"$build/configure.log"
if [ "$target" = fuzz_onnx ] && ! grep -q "Ember: ONNX ON" "$build/configure.log"; then
  echo "fuzz.sh: fuzz_onnx needs ONNX support, which this build lacks:" >&2
  grep "Ember: ONNX" "$build/configure.log" >&2
  exit 2
fi
cmake --build "$build" -j2 --target "$target" fuzz_make_seeds

seeds=$build/fuzz-seeds corpus=$build/fuzz-corpus-$target artifacts=$build/fuzz-artifacts-$target
mkdir -p "$seeds" "$corpus" "$artifacts"
"$build/bin/fuzz_make_seeds" "$seeds"
extra_seeds=$root/tests/reference/fixtures
if [ "$target" = fuzz_idx ]; then
  # Small IDX files, raw and gzipped: 2 images of 3x3, and 3 labels.
  extra_seeds=$build/fuzz-seeds-idx
  mkdir -p "$extra_seeds"
  printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x03abcdefghijklmnopqr' >"$extra_seeds/images"
  printf '\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02\x03' >"$extra_seeds/labels"
  gzip -kf "$extra_seeds/images" "$extra_seeds/labels"
fi

cd "$build"
rm -f fuzz-*.log
status=0
# -jobs runs the fuzzer in a child that logs to fuzz-N.log; ASan's leak check stays on.
"$build/bin/$target" "$corpus" "$seeds" "$extra_seeds" -max_total_time="$seconds" -jobs="$jobs" -workers="$jobs" \
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
