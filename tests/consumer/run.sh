#!/usr/bin/env bash
# Builds and runs tests/consumer against Ember as a user would: installed (cmake --install to a
# fresh prefix, then find_package), and through add_subdirectory with shared libraries.
# Usage: run.sh <ember build folder> <ember source folder>
set -euo pipefail
build="$1"
src="$2"
work="$build/consumer-test"
rm -rf "$work"
mkdir -p "$work"
jobs="$(nproc)"
# The compiler launcher of Ember's own build (ccache, from scripts/build.sh), for the second build
# of the library below: the test command runs this test in two configurations.
launcher=()
if [[ -n "${EMBER_CONSUMER_LAUNCHER:-}" ]]; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$EMBER_CONSUMER_LAUNCHER")
  export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1
fi

echo "== installed: cmake --install, then find_package(Ember) =="
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
# No installed header may include one that is not installed (the kernel interface stays private).
bad=0
while IFS= read -r line; do
  file="${line%%:*}"
  inc="$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")"
  [[ -f "$work/prefix/include/$inc" ]] || { echo "$file includes $inc, which is not installed"; bad=1; }
done < <(grep -rn '#include "ember/' "$work/prefix/include/ember")
((bad == 0)) || exit 1
[[ -f "$work/prefix/include/ember/core/backend.h" ]] && { echo "the private core/backend.h was installed"; exit 1; }
# The public API is a list: the installed headers are exactly ember.h and the headers it includes.
diff <(cd "$work/prefix/include/ember" && find . -name '*.h' | sed 's|^\./||' | sort) \
     <({ echo ember.h; sed -n -E 's|^#include "ember/([^"]+)".*|\1|p' "$src/ember.h"; } | sort) ||
  { echo "the installed headers (<) differ from ember.h's list (>)"; exit 1; }
echo "installed: ember.h and the $(grep -c '^#include "ember/' "$src/ember.h") headers it lists, no other"
pkg="$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs ember)"
echo "pkg-config: $pkg"
inc="$(sed -E 's/^-I([^ ]+).*/\1/' <<<"$pkg")"
[[ -f "$inc/ember/ember.h" ]] || { echo "pkg-config's include folder $inc holds no ember/ember.h"; exit 1; }
cmake -S "$src/tests/consumer" -B "$work/installed" -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/installed.log" ||
  { cat "$work/installed.log"; exit 1; }
cmake --build "$work/installed" -j"$jobs" >>"$work/installed.log" || { cat "$work/installed.log"; exit 1; }
"$work/installed/consumer" "$work/installed.ember"

echo "== a version or component that is not there is refused by find_package =="
for ask in "9.9 REQUIRED" "REQUIRED COMPONENTS nonsense"; do
  mkdir -p "$work/ask"
  printf 'cmake_minimum_required(VERSION 3.25)\nproject(ask LANGUAGES CXX)\nfind_package(Ember %s)\n' "$ask" \
    >"$work/ask/CMakeLists.txt"
  if cmake -S "$work/ask" -B "$work/ask/b" --fresh -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/ask.log" 2>&1; then
    echo "find_package(Ember $ask) succeeded"; exit 1
  fi
  grep -E -q 'version|no component "nonsense"' "$work/ask.log" || { cat "$work/ask.log"; exit 1; }
  echo "refused: find_package(Ember $ask)"
done

echo "== add_subdirectory, shared libraries =="
# EMBER_CUDA=OFF only to keep the test short: the CUDA kernels would be compiled a second time.
cmake -S "$src/tests/consumer" -B "$work/subdir" -DEMBER_SOURCE_DIR="$src" -DBUILD_SHARED_LIBS=ON \
  -DEMBER_CUDA=OFF "${launcher[@]}" >"$work/subdir.log" || { cat "$work/subdir.log"; exit 1; }
cmake --build "$work/subdir" -j"$jobs" >>"$work/subdir.log" || { cat "$work/subdir.log"; exit 1; }
# grep reads all of ldd's output (not -q): under pipefail, ldd killed by SIGPIPE would fail the check.
ldd "$work/subdir/consumer" | grep 'libember.so' >/dev/null || { echo "the shared build did not link libember.so"; exit 1; }
"$work/subdir/consumer" "$work/subdir.ember"
echo "consumer: both ways passed"
