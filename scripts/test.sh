#!/usr/bin/env bash
# The test command: installs what is missing, fetches MNIST, builds, and runs every test with ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/get_data.sh
bash scripts/build.sh "$@"
cd "${EMBER_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j"$(nproc)"
