#pragma once
// What one GPU's backend holds: its stream, the caching allocator, the pinned staging buffers, the
// cuBLAS/cuDNN handles and the slot where kernels report errors. Internal to cuda/.
#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/cuda/cuda_backend.h"

struct cublasContext;  // cublasHandle_t is cublasContext*
struct cudnnContext;   // cudnnHandle_t is cudnnContext*

namespace ember::cuda {

// Throws ember::Error naming the failed call and CUDA's own description of the error.
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);

#define EMBER_CUDA_CHECK(call)                                                              \
  do {                                                                                      \
    cudaError_t ember_err_ = (call);                                                        \
    if (ember_err_ != cudaSuccess) ::ember::cuda::throw_cuda_error(ember_err_, #call, __FILE__, __LINE__); \
  } while (0)

// After every kernel launch: a bad configuration is reported here, at the launch that made it.
#define EMBER_CUDA_LAUNCHED(kernel)                                                         \
  do {                                                                                      \
    cudaError_t ember_err_ = cudaGetLastError();                                            \
    if (ember_err_ != cudaSuccess) ::ember::cuda::throw_cuda_error(ember_err_, "launch of " kernel, __FILE__, __LINE__); \
  } while (0)

constexpr int kThreads = 256;
constexpr int kMaxDims = 8;  // after merging contiguous dims; more than this is refused

// Blocks for n elements at `threads` a block; kernels loop (grid-stride) over whatever is left.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > (int64_t(1) << 20)) blocks = int64_t(1) << 20;
  return unsigned(blocks);
}

// Size-bucketed caching allocator. A freed block goes back to the free list of its rounded size and
// is handed out again by the next request of that size, without cudaMalloc or any synchronisation:
// all work of the device is ordered on one stream, so a later user of the block runs after every
// kernel queued for the earlier one. Sizes round up to 512 bytes, and above 4 KiB to 1/8 of their
// power of two (at most 12.5% slack), so that the shapes of a training step map to a few buckets.
class Allocator {
 public:
  explicit Allocator(int device) : device_(device) {}
  void* allocate(size_t nbytes);
  void deallocate(void* ptr, size_t nbytes);
  void empty_cache();
  MemoryStats stats() const;
  static size_t round_size(size_t nbytes);

 private:
  void release_cached_locked();
  int device_;
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // rounded size -> blocks
  MemoryStats stats_;
};

// Pinned host buffers that host-to-device copies pass through: the bytes are copied into one on the
// host, and the transfer to the device is queued asynchronously on the stream. A buffer is reused
// once the event recorded after its last transfer has completed.
class Staging {
 public:
  void host_to_device(void* dst, const void* src, size_t nbytes, cudaStream_t stream);

 private:
  static constexpr size_t kSlotBytes = size_t(4) << 20;
  static constexpr int kSlots = 4;
  struct Slot {
    void* buffer = nullptr;
    cudaEvent_t done = nullptr;
  };
  std::mutex mutex_;
  Slot slots_[kSlots];
  int next_ = 0;
};

// CUDA-event timing of backend calls by name, when switched on.
class Profiler {
 public:
  bool on() const { return on_; }
  void start();
  cudaEvent_t begin(cudaStream_t stream);
  void end(const char* name, cudaEvent_t begin, cudaStream_t stream);
  std::vector<ProfileEntry> report(cudaStream_t stream);

 private:
  struct Pending {
    const char* name;
    cudaEvent_t begin, end;
  };
  void resolve_locked();
  bool on_ = false;
  std::mutex mutex_;
  std::vector<cudaEvent_t> pool_;
  std::vector<Pending> pending_;
  std::unordered_map<std::string, ProfileEntry> totals_;
};

struct Context {
  explicit Context(int device);
  int device;
  cudaStream_t stream = nullptr;
  Allocator allocator;
  Staging staging;
  Profiler profiler;
  std::mutex handle_mutex;          // guards the lazily created handles below
  cublasContext* cublas = nullptr;  // gemm.cpp
  cudnnContext* cudnn = nullptr;    // conv_cudnn.cpp
  std::shared_ptr<void> cudnn_plans;
  // Errors found by kernels (an nll_loss target out of range), in mapped pinned memory: the
  // kernel writes {kind, index, value, classes} and the host reads it after synchronising.
  volatile int64_t* error_host = nullptr;
  int64_t* error_device = nullptr;
};

enum ErrorKind : int64_t { kNoError = 0, kNllTarget = 1 };

// Makes `device` current on this thread (cudaSetDevice only when it changes).
void make_current(int device);

// Every backend call starts with one: makes the device current and, when profiling, times the call.
class Scope {
 public:
  Scope(Context& ctx, const char* name);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Context& ctx_;
  const char* name_;
  cudaEvent_t begin_ = nullptr;
};

// Device scratch memory from the allocator, returned when the scope ends (safe as soon as the
// kernels using it are queued, by the allocator's stream ordering).
class Scratch {
 public:
  Scratch(Context& ctx, size_t nbytes) : ctx_(ctx), nbytes_(nbytes), ptr_(ctx.allocator.allocate(nbytes)) {}
  ~Scratch() { ctx_.allocator.deallocate(ptr_, nbytes_); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  Context& ctx_;
  size_t nbytes_;
  void* ptr_;
};

// Row-major c (m, n) = alpha * op(a) @ op(b) + beta * c through cuBLAS; lda, ldb, ldc are the
// row lengths of a, b, c as stored. dtype float32 or float64 (gemm.cpp).
void gemm_rows(Context& ctx, DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
               const void* a, int64_t lda, const void* b, int64_t ldb, double beta, void* c, int64_t ldc);

// A set of dims of x as (size, stride) pairs, outer to inner.
using DimList = std::vector<std::array<int64_t, 2>>;

// out[m] = sum over r of x[kept offset of m + reduced offset of r], summed in double in a fixed
// order (deterministic, no atomics); m runs row-major over `kept`. float32 or float64 (reduce.cu).
void sum_dims(Context& ctx, DType dtype, const void* x, DimList kept, DimList reduced, void* out);

}  // namespace ember::cuda
