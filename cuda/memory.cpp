// Device memory and copies: the caching allocator, pinned staging for host-to-device copies, and
// the backend's memory kernels.
#include <bit>
#include <cstring>

#include "ember/cuda/context.h"

namespace ember {

namespace cuda {

size_t Allocator::round_size(size_t n) {
  const size_t granule = std::max<size_t>(512, std::bit_floor(n) >> 3);
  return (n + granule - 1) / granule * granule;
}

void* Allocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t size = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    stats_.cached_bytes -= size;
    stats_.in_use_bytes += size;
    stats_.reused_blocks += 1;
    return p;
  }
  make_current(device_);
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    release_cached_locked();  // blocks of other sizes go back to the driver; then one more try
    err = cudaMalloc(&p, size);
  }
  if (err == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();
    EMBER_FAIL("CUDA out of memory on cuda:", device_, ": tried to allocate ", nbytes, " bytes (",
               stats_.in_use_bytes >> 20, " MiB held by live tensors)");
  }
  if (err != cudaSuccess) throw_cuda_error(err, "cudaMalloc", __FILE__, __LINE__);
  stats_.device_mallocs += 1;
  stats_.in_use_bytes += size;
  return p;
}

void Allocator::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  const size_t size = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  free_[size].push_back(ptr);
  stats_.in_use_bytes -= size;
  stats_.cached_bytes += size;
}

void Allocator::release_cached_locked() {
  // cudaFree waits for the device, so no queued kernel still uses these blocks.
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) (void)cudaFree(p);
    stats_.cached_bytes -= size * blocks.size();
    blocks.clear();
  }
  free_.clear();
}

void Allocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  make_current(device_);
  release_cached_locked();
}

MemoryStats Allocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Staging::host_to_device(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t done = 0; done < nbytes;) {
    const size_t n = std::min(kSlotBytes, nbytes - done);
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % kSlots;
    if (!slot.buffer) {
      EMBER_CUDA_CHECK(cudaHostAlloc(&slot.buffer, kSlotBytes, cudaHostAllocDefault));
      EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming));
    } else {
      EMBER_CUDA_CHECK(cudaEventSynchronize(slot.done));  // its previous transfer has left
    }
    std::memcpy(slot.buffer, static_cast<const char*>(src) + done, n);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + done, slot.buffer, n, cudaMemcpyHostToDevice, stream));
    EMBER_CUDA_CHECK(cudaEventRecord(slot.done, stream));
    done += n;
  }
}

}  // namespace cuda

void* CudaBackend::allocate(size_t nbytes) { return ctx_->allocator.allocate(nbytes); }

void CudaBackend::deallocate(void* ptr, size_t nbytes) { ctx_->allocator.deallocate(ptr, nbytes); }

// Asynchronous: the bytes are in a pinned buffer when this returns, so `src` may be reused at once.
void CudaBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0) return;
  cuda::Scope scope(*ctx_, "copy_from_host");
  ctx_->staging.host_to_device(dst, src, nbytes, ctx_->stream);
}

// Synchronous: waits for the queued work that writes `src`, then reports errors kernels found.
void CudaBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  {
    cuda::Scope scope(*ctx_, "copy_to_host");
    if (nbytes) EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, ctx_->stream));
  }
  synchronize();
}

void CudaBackend::copy_within(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0 || dst == src) return;
  cuda::Scope scope(*ctx_, "copy_within");
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  if (d < s + nbytes && s < d + nbytes) {  // overlapping views of one storage: memmove semantics
    cuda::Scratch tmp(*ctx_, nbytes);
    EMBER_CUDA_CHECK(cudaMemcpyAsync(tmp.as<char>(), s, nbytes, cudaMemcpyDeviceToDevice, ctx_->stream));
    EMBER_CUDA_CHECK(cudaMemcpyAsync(d, tmp.as<char>(), nbytes, cudaMemcpyDeviceToDevice, ctx_->stream));
    return;
  }
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, ctx_->stream));
}

}  // namespace ember
