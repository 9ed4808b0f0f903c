#!/usr/bin/env bash
# ember::save/load vs torch.save/load of the same 384 MiB state dict (24 float32 2048x2048 tensors),
# on this machine, in one run: rounds alternate the two so both see the same machine load. Each
# program first does one untimed save and load: on a virtual machine the first writes of a process
# often meet memory the host has taken back, which costs more than the I/O itself.
#   bench/run_io.sh [ROUNDS]          (default 5; env: BUILD=build dir, DIR=folder for the files)
# Prints per-round times, then medians, throughput and the torch/ember ratios; peak RSS of a load
# in a fresh process (the whole process: the program itself plus the loaded tensors).
set -euo pipefail
rounds=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
dir=${DIR:-$build/bench-io-files}
bench=$build/bin/bench_io
# shellcheck source=bench/peer.sh
source "$root/bench/peer.sh"
py=("${peer_python[@]}")
[ -x "$bench" ] || { echo "run_io.sh: $bench not found: cmake --build $build --target bench_io" >&2; exit 2; }
mkdir -p "$dir"
log=$(mktemp)
trap 'rm -f "$log" "$dir/bench_io.ember" "$dir/bench_io.pt" "$dir/bench_io.direct"' EXIT

for r in $(seq "$rounds"); do
  echo "round $r/$rounds" >&2
  "$bench" --dir "$dir" --warmup 1 --repeats 1 | sed -n 's/^\(save_nosync\|save\|load\) /ember_\1 /p; s/^disk_direct /disk_direct /p' >>"$log"
  "$bench" --load-only "$dir/bench_io.ember" | sed 's/^/ember_/' >>"$log"
  "${py[@]}" "$root/bench/bench_io.py" --dir "$dir" --warmup 1 --repeats 1 | sed -n 's/^\(save_fsync\|save\|load\) /torch_\1 /p' >>"$log"
  "${py[@]}" "$root/bench/bench_io.py" --load-only "$dir/bench_io.pt" | sed 's/^/torch_/' >>"$log"
done

# Save and load do no matrix products, so the BLAS torch loaded does not enter these ratios: the
# peer line is printed for the record only.
"${py[@]}" "$root/bench/torch_peer.py" | sed 's/^peer /pytorch peer: /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$log" <<'PY'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
gib = 24 * 2048 * 2048 * 4 / 2**30
print(f"{'measure':<22}{'median s':>10}{'GiB/s':>8}   all runs")
for k in ["ember_save", "torch_save_fsync", "ember_save_nosync", "torch_save", "ember_load", "torch_load",
          "ember_load_only", "torch_load_only", "disk_direct"]:
    if k in med:
        print(f"{k:<22}{med[k]:>10.3f}{gib / med[k]:>8.2f}   " + " ".join(f"{x:.3f}" for x in vals[k]))
print()
print("ember_save is ember::save: temporary file, fsync, rename, fsync of the folder. torch.save does not "
      "fsync; torch_save_fsync is torch.save followed by an fsync of the file and its folder. ember checks every "
      "tensor's CRC32 on load; torch.load verifies nothing. Each step starts after sync().")
print(f"save, both durable (fsync):    torch/ember = {med['torch_save_fsync'] / med['ember_save']:.2f}x")
print(f"save, neither durable:         torch/ember = {med['torch_save'] / med['ember_save_nosync']:.2f}x")
print(f"save, ember durable, torch not: torch/ember = {med['torch_save'] / med['ember_save']:.2f}x")
if "disk_direct" in med:
    print(f"the disk alone (as many bytes written with O_DIRECT, 4 writes in flight, then fsync) takes {med['disk_direct']:.3f} s: ember::save "
          f"takes {med['ember_save'] / med['disk_direct']:.2f}x that")
print(f"load:                          torch/ember = {med['torch_load'] / med['ember_load']:.2f}x (right after saving), "
      f"{med['torch_load_only'] / med['ember_load_only']:.2f}x (fresh process)")
for who in ["ember", "torch"]:
    base, peak, size = med[who + "_baseline_rss_kib"], med[who + "_peak_rss_kib"], med[who + "_file_kib"]
    print(f"{who} load peak RSS: {peak / 1024:.0f} MiB = process before loading {base / 1024:.0f} MiB "
          f"+ {(peak - base) / 1024:.0f} MiB for a {size / 1024:.0f} MiB file")
PY
