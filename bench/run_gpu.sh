#!/usr/bin/env bash
# The GPU checks, on a machine with an NVIDIA GPU: builds Ember with CUDA, runs the CUDA test suites,
# trains MNISTNet with train_mnist --device cuda (the tutorial's 2 epochs), and times MNISTNet epochs
# with the data resident on the GPU, Ember (bin/bench_gpu) next to PyTorch eager (bench/bench_gpu.py)
# in the same run, then each one's top kernels (nsys when installed, else CUDA events / torch.profiler).
# Usage: bench/run_gpu.sh [epochs=3]     env: EMBER_BUILD_DIR, EMBER_DATA, PYTHON
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
epochs="${1:-3}"
build="${EMBER_BUILD_DIR:-$root/build-gpu}"
data="${EMBER_DATA:-$root/datasets/mnist}"
python="${PYTHON:-python3}"
status=0

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
cmake -S "$root" -B "$build" -DEMBER_CUDA=ON -DCMAKE_BUILD_TYPE=Release >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
grep "Ember:" "$build.configure.log"
cmake --build "$build" -j"$(nproc)" --target test_cuda_parity test_cuda_runtime test_core_device train_mnist bench_gpu \
  >"$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }

echo "== CUDA tests"
for t in test_core_device test_cuda_parity test_cuda_runtime; do
  "$build/tests/$t" --no-intro || status=1
done

echo "== train_mnist --device cuda (2 epochs, the tutorial's recipe)"
if [[ -f "$data/train-images-idx3-ubyte" || -f "$data/train-images-idx3-ubyte.gz" ]]; then
  "$build/bin/train_mnist" --data "$data" --device cuda --epochs 2 || status=1
else
  echo "skipped: no MNIST files in $data (set EMBER_DATA)"
fi

echo "== MNISTNet epoch, data resident on the GPU, batch 64"
"$build/bin/bench_gpu" --data "$data" --epochs "$epochs" | tee "$build.bench_ember.txt" || status=1
"$build/bin/bench_gpu" --data "$data" --epochs "$epochs" --no-cudnn | sed 's/^ember_epoch_s/ember_no_cudnn_epoch_s/' \
  | tee "$build.bench_ember_nocudnn.txt" || status=1
# The peer runs on the GPU (cuBLAS, cuDNN): its CPU BLAS, printed for the record, does not enter the ratio.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$root/bench/torch_peer.py" | sed 's/^peer /pytorch peer: /' || true
"$python" "$root/bench/bench_gpu.py" --data "$data" --epochs "$epochs" | tee "$build.bench_torch.txt" || status=1
"$python" - "$build" <<'PY'
import re, sys
b = sys.argv[1]
def get(f, key):
    m = re.search(key + r" ([0-9.]+)", open(f).read())
    return float(m.group(1)) if m else None
e = get(b + ".bench_ember.txt", "ember_epoch_s")
n = get(b + ".bench_ember_nocudnn.txt", "ember_no_cudnn_epoch_s")
t = get(b + ".bench_torch.txt", "torch_epoch_s")
print(f"summary: ember {e} s/epoch (cuDNN), {n} s/epoch (own conv kernels), torch eager {t} s/epoch")
if e and t:
    print(f"summary: ember is {t / e:.2f}x PyTorch eager per epoch (target: >= 2x)")
PY

echo "== top kernels"
if command -v nsys >/dev/null 2>&1; then
  nsys profile -o "$build.ember" --force-overwrite true "$build/bin/bench_gpu" --data "$data" --epochs 1 >/dev/null &&
    nsys stats --report cuda_gpu_kern_sum "$build.ember.nsys-rep" | head -25
  nsys profile -o "$build.torch" --force-overwrite true "$python" "$root/bench/bench_gpu.py" --data "$data" --epochs 1 \
    >/dev/null && nsys stats --report cuda_gpu_kern_sum "$build.torch.nsys-rep" | head -25
else
  echo "(nsys not installed: CUDA-event times per backend call, which include any launch gaps)"
  "$build/bin/bench_gpu" --data "$data" --epochs 1 --profile | sed -n '/GPU time by backend call/,$p'
  "$python" "$root/bench/bench_gpu.py" --data "$data" --epochs 1 --profile | sed -n '/top CUDA kernels/,$p'
fi
exit $status
