#include <cstdlib>
#include <cstring>
#include <new>

#include "core/cpu/cpu_backend.h"

namespace ember {

CpuBackend& cpu_backend() {
  static CpuBackend b;
  return b;
}

// 64-byte aligned, so vector loads and the checkpoint format's alignment line up.
void* CpuBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  EMBER_CHECK(p, "cpu: out of memory allocating ", nbytes, " bytes");
  return p;
}
void CpuBackend::deallocate(void* ptr, size_t) { std::free(ptr); }
void CpuBackend::copy_from_host(void* dst, const void* src, size_t n) { if (n) std::memmove(dst, src, n); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t n) { if (n) std::memmove(dst, src, n); }
void CpuBackend::copy_within(void* dst, const void* src, size_t n) { if (n) std::memmove(dst, src, n); }

}  // namespace ember
