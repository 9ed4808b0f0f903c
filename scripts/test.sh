#!/usr/bin/env bash
# The test command: installs what is missing, fetches MNIST, builds, and runs every test with ctest.
# Where nvcc is found the default build includes the CUDA backend (its GPU tests skip without a GPU).
# Two more configurations then run the suites labelled "builds" (tests/CMakeLists.txt: those whose
# outcome depends on how Ember was built and what it finds at run time):
#   - the CUDA build with the CUDA libraries made unfindable (a program built with CUDA support
#     must run on the CPU where they are absent);
#   - a build without CUDA (-DEMBER_CUDA=OFF), built in full, so that configuration keeps compiling.
# The other suites compile the same sources with the same flags in every configuration and run once.
# Each phase's time is printed at the end, then one line with the count of tests run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
build="${EMBER_BUILD_DIR:-$root/build}"
start=$SECONDS
phase_start=$SECONDS
phases=()
phase_done() {
  phases+=("$(printf '%-58s %4d s' "$1" $((SECONDS - phase_start)))")
  echo "== $1: $((SECONDS - phase_start)) s =="
  phase_start=$SECONDS
}
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
runs=0
# ctest, its output also in a log whose summary line is added up at the end.
run_ctest() {
  local dir="$1"
  shift
  runs=$((runs + 1))
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)" "$@") | tee "$logs/ctest.$runs"
}

bash scripts/setup.sh
bash scripts/get_data.sh
phase_done "set-up (packages, MNIST, ONNX Runtime)"
EMBER_BUILD_DIR="$build" bash scripts/build.sh "$@"
phase_done "build"
run_ctest "$build"
phase_done "the whole suite"

if grep -q "CUDA backend ON" "$build/configure.log"; then
  if [[ -d /usr/local/cuda ]] && unshare -m true 2>/dev/null; then
    echo "== the CUDA build's suites labelled 'builds', with the CUDA libraries made unfindable =="
    runs=$((runs + 1))
    unshare -m bash -c "mount -t tmpfs none /usr/local/cuda && cd '$build' &&
      ctest --output-on-failure -j$(nproc) -L builds -LE cuda -E 'test_consumer|test_core_cuda_module_|test_no_cuda'" |
      tee "$logs/ctest.$runs"
    phase_done "the 'builds' suites, CUDA libraries hidden"
  else
    echo "== skipped: the CPU suite with the CUDA libraries hidden needs 'unshare -m' (root) =="
  fi
  echo "== a build without CUDA (-DEMBER_CUDA=OFF), and its suites labelled 'builds' =="
  EMBER_BUILD_DIR="$build-nocuda" bash scripts/build.sh "$@" -DEMBER_CUDA=OFF
  phase_done "build without CUDA"
  run_ctest "$build-nocuda" -L builds
  phase_done "the 'builds' suites, build without CUDA"
fi

echo
echo "== times =="
printf '%s\n' "${phases[@]}"
printf '%-58s %4d s\n' "total" $((SECONDS - start))
# ctest's own summary, added up over the runs above (each failure has already stopped the script).
total=0
for f in "$logs"/ctest.*; do
  n=$(sed -n -E 's/.*tests passed, [0-9]+ tests? failed out of ([0-9]+).*/\1/p' "$f" | tail -n 1)
  total=$((total + ${n:-0}))
done
echo "100% tests passed, 0 tests failed out of $total"
