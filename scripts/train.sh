#!/usr/bin/env bash
# The train command: installs what is missing, fetches MNIST, builds, and trains MNISTNet
# (2 epochs, the tutorial's recipe). Extra arguments go to train_mnist (try --help).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/get_data.sh
bash scripts/build.sh
exec "${EMBER_BUILD_DIR:-$root/build}/bin/train_mnist" --data "$root/datasets/mnist" "$@"
