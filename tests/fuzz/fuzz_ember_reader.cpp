// libFuzzer target for the native checkpoint reader. Any input must end in a loaded value or an
// ember::Error: a crash, a sanitizer report, another exception, or a leak is a bug.
// Each input is read twice: as given, and with its header checksum repaired, so that mutations
// reach the parser behind the checksum instead of stopping at it.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_reader.h"
#include "ember/io/native_reader.h"

namespace {
void read_all(const uint8_t* data, size_t size) { ember::fuzz::read_all<ember::io::NativeReader>(data, size); }

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ember::fuzz::open_mem_file("ember_fuzz");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read_all(data, size);
  if (size >= ember::io::kPreambleSize) {
    uint64_t header_size = le64(data + 16);
    if (header_size <= size - ember::io::kPreambleSize) {
      std::vector<uint8_t> fixed(data, data + size);
      uLong crc = crc32_z(0, fixed.data(), 44);
      crc = crc32_z(crc, fixed.data() + 48, size_t(header_size));
      for (int i = 0; i < 4; ++i) fixed[44 + i] = uint8_t(crc >> (8 * i));
      read_all(fixed.data(), fixed.size());
    }
  }
  return 0;
}
