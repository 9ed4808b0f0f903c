// libFuzzer target for the zip container alone (io/interop/zip.h): any input must end in entries
// read (each inflated and its CRC32 checked, under a size limit) or an ember::Error; a crash, a
// sanitizer report, another exception or a leak is a bug. Each input is read as given and with a
// valid end-of-central-directory record appended that points at offset 0, so that mutations reach
// the central directory, the local headers and the deflate streams.
#include <cstdint>
#include <string>
#include <vector>

#include "ember/core/error.h"
#include "ember/io/interop/zip.h"
#include "fuzz_reader.h"

namespace {
void read_zip(const uint8_t* data, size_t size) {
  ember::fuzz::MemFile& f = ember::fuzz::fill_mem_file(data, size);
  try {
    ember::io::ZipReader zip(f.fd, size, f.path);
    for (const ember::io::ZipEntry& e : zip.entries()) {
      try {
        (void)zip.compute_crc(e);
        (void)zip.read(e, uint64_t(64) << 20);
      } catch (const ember::Error&) {
      }
    }
  } catch (const ember::Error&) {
  }
}

void put(std::vector<uint8_t>& b, uint64_t v, int n) {
  for (int k = 0; k < n; ++k) b.push_back(uint8_t(v >> (8 * k)));
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ember::fuzz::open_mem_file("ember_fuzz_zip");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read_zip(data, size);
  // The input as a central directory of one entry, with an end record after it.
  std::vector<uint8_t> framed(data, data + size);
  put(framed, 0x06054b50, 4);
  put(framed, 0, 4);
  put(framed, 1, 2);
  put(framed, 1, 2);
  put(framed, size / 2, 4);
  put(framed, size - size / 2, 4);
  put(framed, 0, 2);
  read_zip(framed.data(), framed.size());
  return 0;
}
