#pragma once
// Internals shared by io/reader.cpp and io/writer.cpp; not part of the public API.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ember/io/native_reader.h"

namespace ember::io::detail {

// Test seam: called after each chunk of tensor data is written, with the data bytes written so far.
using WriteHook = void (*)(uint64_t bytes_written);
void set_write_hook(WriteHook hook);

// Tensor bytes go between memory and file unconverted; the format stores them little-endian.
static_assert(std::endian::native == std::endian::little, "the native checkpoint format needs a little-endian host");

// false on overflow.
bool checked_add(uint64_t a, uint64_t b, uint64_t* out);
bool checked_mul(uint64_t a, uint64_t b, uint64_t* out);
bool align_up(uint64_t x, uint64_t* out);  // to kAlignment

// Chunk size of tensor reads and writes: large enough for full-speed I/O, small enough to checksum
// each chunk while it is still in cache.
inline constexpr size_t kChunk = size_t(4) << 20;

struct Encoder {
  std::vector<uint8_t> buf;
  void u8(uint8_t v);
  void u16(uint16_t v);
  void u32(uint32_t v);
  void u64(uint64_t v);
  void i64(int64_t v) { u64(uint64_t(v)); }
  void f64(double v);
  void str(const std::string& s);  // u32 length, then the bytes
};

void put_u32(uint8_t* p, uint32_t v);
void put_u64(uint8_t* p, uint64_t v);
uint32_t get_u32(const uint8_t* p);
uint64_t get_u64(const uint8_t* p);

// Bounds-checked reading of the header; errors name the file and the header byte.
struct Decoder {
  const uint8_t* data;
  size_t size;
  size_t pos = 0;
  const std::string& file;

  void need(size_t k, const char* what);
  uint8_t u8(const char* what);
  uint16_t u16(const char* what);
  uint32_t u32(const char* what);
  uint64_t u64(const char* what);
  int64_t i64(const char* what) { return int64_t(u64(what)); }
  double f64(const char* what);
  std::string str(const char* what);
};

}  // namespace ember::io::detail
