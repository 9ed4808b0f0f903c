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
  echo "== the same suite on a build without CUDA (-DEMBER_CUDA=OFF) =="
  EMBER_BUILD_DIR="$build-nocuda" bash scripts/build.sh "$@" -DEMBER_CUDA=OFF
  (cd "$build-nocuda" && ctest --output-on-failure -j"$(nproc)")
fi
