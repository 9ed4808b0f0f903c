#!/usr/bin/env bash
# The train command: installs what is missing, fetches the data, builds, and trains MNISTNet
# (2 epochs, the tutorial's recipe). Extra arguments go to train_mnist (try --help); with
# --dataset fashion-mnist, Fashion-MNIST is fetched and read from datasets/fashion-mnist.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# The dataset asked for decides what get_data.sh fetches; train_mnist checks the rest of the flags.
dataset=mnist
for ((i = 1; i <= $#; i++)); do
  case "${!i}" in
    --dataset=*) dataset="${!i#--dataset=}" ;;
    --dataset) j=$((i + 1)); dataset="${!j:-}" ;;
  esac
done
case "$dataset" in
  mnist) data_flags=() ;;
  fashion-mnist) data_flags=(--fashion) ;;
  *) echo "train.sh: --dataset: expected mnist or fashion-mnist, found '$dataset'" >&2; exit 2 ;;
esac
bash scripts/setup.sh
bash scripts/get_data.sh "${data_flags[@]}"
# Only what training needs: the library, train_mnist, ember-ckpt (the README converts checkpoints
# with it) and, where CUDA is built, the CUDA module. The tests are built by scripts/test.sh.
bash scripts/build.sh --target train_mnist --target ember-ckpt
# train_mnist reads datasets/<dataset> relative to here unless --data says otherwise.
exec "${EMBER_BUILD_DIR:-$root/build}/bin/train_mnist" "$@"
