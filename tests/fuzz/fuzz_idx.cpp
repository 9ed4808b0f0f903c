// libFuzzer target for the IDX reader (data/idx.h), raw and gzip: any input must end in a tensor
// or an ember::Error; a crash, a sanitizer report, another exception or a leak is a bug. Each input
// is read as images and as labels, as given and gzip-compressed (so that mutations of the IDX
// header and data get past the gzip framing), and its gzip form with one byte flipped.
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ember/core/error.h"
#include "ember/data/idx.h"
#include "fuzz_reader.h"

namespace {
void read_idx(const uint8_t* data, size_t size) {
  ember::fuzz::MemFile& f = ember::fuzz::fill_mem_file(data, size);
  for (auto kind : {ember::data::IdxKind::Images, ember::data::IdxKind::Labels}) {
    try {
      ember::Tensor t = ember::data::read_idx(f.path, kind);
      if (uint64_t(t.numel()) > uint64_t(1) << 30) __builtin_trap();
    } catch (const ember::Error&) {
    }
  }
}

std::vector<uint8_t> gzip(const uint8_t* data, size_t size) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::vector<uint8_t> out(deflateBound(&zs, uLong(size)) + 32);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = uInt(size);
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ember::fuzz::open_mem_file("ember_fuzz_idx");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read_idx(data, size);
  std::vector<uint8_t> gz = gzip(data, size);
  read_idx(gz.data(), gz.size());
  if (gz.size() > 20 && size > 0) {
    gz[10 + data[0] % (gz.size() - 20)] ^= uint8_t(1 + data[size - 1] % 255);
    read_idx(gz.data(), gz.size());
  }
  return 0;
}
