#!/usr/bin/env bash
# Regenerates the output blocks and the C++ excerpts of docs/state-dicts.md from the programs they
# show, so the tutorial says exactly what the code does. tests/test_tutorial.cpp fails whenever the
# two drift apart; after running this, reread the text around every block that changed
# (git diff docs/state-dicts.md), since the prose quotes some of the numbers.
#
#   scripts/update_tutorial_outputs.sh [BUILD_DIR]     (default: build; configured if needed)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
jobs="${JOBS:-2}"

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi

# The tutorial's programs, the checkpoint tool it runs, and the test that rewrites the page.
targets=(test_tutorial ember-ckpt)
for src in "$root"/examples/sd_*.cpp "$root"/examples/exercise_*.cpp; do
  targets+=("$(basename "$src" .cpp)")
done
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

# The same thread count as ctest uses, though the outputs do not depend on it.
EMBER_UPDATE_TUTORIAL=1 OMP_NUM_THREADS=2 "$build/tests/test_tutorial" --no-intro --force-colors=false
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" diff --stat -- docs/state-dicts.md || true
fi
echo "updated docs/state-dicts.md; now reread the text around every block that changed"
