#pragma once
// The CUDA backend as a program sees it. The backend is a module (libember_cuda.so) that Ember loads
// on the first request for a cuda device, or on the first call below: a program built with CUDA
// support starts and runs on the CPU where there is no GPU, driver or CUDA library, and pays
// nothing for it. $EMBER_CUDA_MODULE names the module's file where it is not in the usual places.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

// Whether this Ember was built with the CUDA backend module.
bool cuda_built();
// How many GPUs the CUDA backend sees: 0 where it was not built, its module or the CUDA libraries
// cannot be loaded, or there is no GPU or driver. Never throws.
int cuda_device_count();

namespace cuda {

// Empty when cuda devices can be used; else why not, in one line: not built, the module or the
// CUDA libraries missing (with the loader's reason), a module of another Ember version, no GPU.
std::string unavailable_reason();

// Waits for every queued kernel and copy on the device, then throws any error a kernel reported
// since the last synchronisation (an nll_loss target out of range). Copies to the host do this too.
void synchronize(int device = 0);

// cuDNN: whether it was built in (EMBER_CUDNN), and whether conv2d uses it (on by default where
// built). Off, conv2d runs Ember's own im2col + cuBLAS kernels.
bool cudnn_built();
void set_cudnn_enabled(bool on);
bool cudnn_enabled();

struct MemoryStats {
  size_t in_use_bytes = 0;      // held by live tensors (rounded block sizes)
  size_t cached_bytes = 0;      // freed blocks kept for reuse
  size_t device_mallocs = 0;    // cudaMalloc calls so far
  size_t reused_blocks = 0;     // allocations served from the cache
};
MemoryStats memory_stats(int device = 0);
// Returns the cached blocks to the driver (cudaFree); live tensors are untouched.
void empty_cache(int device = 0);

// Kernel timing with CUDA events around every backend call (off by default). profile_report()
// synchronises, and lists the calls by total GPU time, longest first.
struct ProfileEntry {
  std::string name;
  int64_t calls = 0;
  double total_ms = 0;
};
void profile_start(int device = 0);
std::vector<ProfileEntry> profile_report(int device = 0);  // also stops profiling

}  // namespace cuda
}  // namespace ember
