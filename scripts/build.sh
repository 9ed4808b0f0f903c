#!/usr/bin/env bash
# Configures and builds Ember into build/ (or $EMBER_BUILD_DIR).
# Usage: scripts/build.sh [--target NAME]... [CMAKE_ARGS...]
#   --target NAME builds only NAME (and what it needs); repeatable. Other arguments go to cmake.
# Where ccache is installed (scripts/setup.sh installs it) compiles go through it, with paths taken
# relative to the repository, so a second build folder (test.sh's build without CUDA) or a second
# clone reuses every object whose source and flags are the same. EMBER_CCACHE=0 turns it off.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${EMBER_BUILD_DIR:-$root/build}"
targets=()
cmake_args=()
while (($#)); do
  case "$1" in
    --target) [[ $# -ge 2 ]] || { echo "build.sh: --target needs a name" >&2; exit 2; }
              targets+=(--target "$2"); shift 2 ;;
    *) cmake_args+=("$1"); shift ;;
  esac
done
if [[ "${EMBER_CCACHE:-1}" != 0 ]] && command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
  cmake_args=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache "${cmake_args[@]}")
else
  cmake_args=(-DCMAKE_CXX_COMPILER_LAUNCHER= -DCMAKE_CUDA_COMPILER_LAUNCHER= "${cmake_args[@]}")
fi
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
grep "Ember:" "$build/configure.log" || true
cmake --build "$build" -j"$(nproc)" "${targets[@]}"
