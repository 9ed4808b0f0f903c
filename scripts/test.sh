#!/usr/bin/env bash
# The test command: installs what is missing, fetches MNIST, builds, and runs every test with ctest.
# Where nvcc is found the default build includes the CUDA backend (its GPU tests skip without a GPU);
# the suite then runs again on a build without CUDA, so both configurations stay green.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/get_data.sh
build="${EMBER_BUILD_DIR:-$root/build}"
EMBER_BUILD_DIR="$build" bash scripts/build.sh "$@"
(cd "$build" && ctest --output-on-failure -j"$(nproc)")
if grep -q "CUDA backend ON" "$build/configure.log"; then
  # A program built with CUDA support must run on the CPU where the CUDA libraries are absent: the
  # CPU suite again, with /usr/local/cuda hidden behind an empty folder in a private mount namespace.
  if [[ -d /usr/local/cuda ]] && unshare -m true 2>/dev/null; then
    echo "== the CPU suite of the CUDA build, with the CUDA libraries made unfindable =="
    unshare -m bash -c "mount -t tmpfs none /usr/local/cuda && cd '$build' &&
      ctest --output-on-failure -j$(nproc) -LE cuda -E 'test_consumer|test_core_cuda_module_|test_no_cuda'"
  else
    echo "== skipped: the CPU suite with the CUDA libraries hidden needs 'unshare -m' (root) =="
  fi
  echo "== the same suite on a build without CUDA (-DEMBER_CUDA=OFF) =="
  EMBER_BUILD_DIR="$build-nocuda" bash scripts/build.sh "$@" -DEMBER_CUDA=OFF
  (cd "$build-nocuda" && ctest --output-on-failure -j"$(nproc)")
fi
