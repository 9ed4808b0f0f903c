#pragma once
// CRC-32 as zlib and zip compute it (reflected polynomial 0xEDB88320): crc32(crc32(0, a), b) is the
// checksum of a followed by b. Where the CPU has carry-less multiplication (x86-64 PCLMULQDQ), long
// buffers are folded 64 or 256 bytes at a time, several times faster than zlib's table method.
#include <cstddef>
#include <cstdint>

namespace ember::io {

uint32_t crc32(uint32_t crc, const void* data, size_t n);

// The checksum of a followed by b, from crc32(0, a), crc32(0, b) and b's length: pieces of a buffer
// checksummed on different threads combine into the buffer's checksum.
uint32_t crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b);

// zlib's table method alone: the reference the fast path is tested against.
uint32_t crc32_portable(uint32_t crc, const void* data, size_t n);

}  // namespace ember::io
