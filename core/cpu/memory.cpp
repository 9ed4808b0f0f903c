#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {

namespace {
// A training step allocates the same sizes every time. Keeping freed blocks in per-size lists
// spares the system allocator's mmap/munmap round trips and the page faults that zero fresh pages
// (half of the step's system time on MNISTNet). Bounded, so a one-off large tensor is returned.
constexpr size_t kMaxCachedBytes = size_t(256) << 20;

struct BlockCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;  // never destroyed: tensors may outlive static destructors
  return *cache;
}

size_t round_up(size_t nbytes) { return (nbytes + 63) / 64 * 64; }
}  // namespace

CpuBackend& cpu_backend() {
  static CpuBackend b;
  return b;
}

// 64-byte aligned, so vector loads and the checkpoint format's alignment line up.
void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  size_t size = round_up(nbytes);
  BlockCache& cache = block_cache();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.free_blocks.find(size);
    if (it != cache.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cache.cached_bytes -= size;
      return p;
    }
  }
  void* p = std::aligned_alloc(64, size);
  EMBER_CHECK(p, "cpu: out of memory allocating ", nbytes, " bytes");
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t nbytes) {
  if (!ptr) return;
  size_t size = round_up(nbytes);
  BlockCache& cache = block_cache();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.cached_bytes + size <= kMaxCachedBytes) {
      cache.free_blocks[size].push_back(ptr);
      cache.cached_bytes += size;
      return;
    }
  }
  std::free(ptr);
}

void CpuBackend::copy_from_host(void* dst, const void* src, size_t n) { if (n) std::memmove(dst, src, n); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t n) { if (n) std::memmove(dst, src, n); }
void CpuBackend::copy_within(void* dst, const void* src, size_t n) { if (n) std::memmove(dst, src, n); }

}  // namespace ember
