// sd_file_layout: a walk through an Ember file's bytes, read with nothing but docs/FORMAT.md:
// the preamble, the tensor table, the value tree and the tensor data.
// docs/state-dicts.md, section "What is inside the file".
//
//   build/bin/sd_file_layout /tmp/ember-tutorial/two_layer.ember
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Bytes {
  std::vector<unsigned char> b;
  template <class T> T get(size_t at) const {  // little-endian, as the format is and x86 is
    if (at + sizeof(T) > b.size()) throw std::runtime_error("the file ends at byte " + std::to_string(b.size()));
    T v;
    std::memcpy(&v, &b[at], sizeof v);
    return v;
  }
};

const char* dtype_names[] = {"float32", "float64", "int64", "uint8", "bool"};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: sd_file_layout FILE.ember\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "sd_file_layout: cannot open %s\n", argv[1]);
    return 1;
  }
  Bytes f{{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()}};
  try {
    // [preamble]
    auto header_size = f.get<uint64_t>(16), data_offset = f.get<uint64_t>(24);
    std::printf("%s: %zu bytes\n", argv[1], f.b.size());
    std::printf("preamble, bytes 0-47\n");
    std::printf("  0  magic         ");
    for (int i = 0; i < 8; ++i) std::printf(i ? " %02x" : "%02x", f.b[size_t(i)]);
    std::printf("\n  8  version       %u\n", f.get<uint32_t>(8));
    std::printf("  12 flags         %u\n", f.get<uint32_t>(12));
    std::printf("  16 header_size   %llu\n", (unsigned long long)header_size);
    std::printf("  24 data_offset   %llu (48 + header_size, rounded up to a multiple of 64)\n",
                (unsigned long long)data_offset);
    std::printf("  32 file_size     %llu\n", (unsigned long long)f.get<uint64_t>(32));
    std::printf("  40 reserved      %u\n", f.get<uint32_t>(40));
    std::printf("  44 header_crc32  0x%08x\n", f.get<uint32_t>(44));
    // [/preamble]

    // [table]
    size_t pos = 48;
    uint32_t count = f.get<uint32_t>(pos);
    pos += 4;
    std::printf("header, bytes 48-%llu: tensor table of %u entries\n", (unsigned long long)(48 + header_size - 1),
                count);
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t len = f.get<uint32_t>(pos);
      if (pos + 4 + len > f.b.size()) throw std::runtime_error("a name runs past the end of the file");
      std::string name(f.b.begin() + long(pos + 4), f.b.begin() + long(pos + 4 + len));
      pos += 4 + len;
      uint8_t dtype = f.get<uint8_t>(pos), device = f.get<uint8_t>(pos + 1);
      uint32_t rank = f.get<uint32_t>(pos + 4);
      pos += 8;
      std::string shape = "[";
      for (uint32_t d = 0; d < rank; ++d, pos += 8)
        shape += (d ? ", " : "") + std::to_string(f.get<int64_t>(pos));
      shape += "]";
      uint64_t offset = f.get<uint64_t>(pos), nbytes = f.get<uint64_t>(pos + 8);
      uint32_t crc = f.get<uint32_t>(pos + 16);
      pos += 20;
      std::printf("  %-12s %-7s %-4s %-9s bytes %llu-%llu  crc32 0x%08x\n", name.c_str(),
                  dtype < 5 ? dtype_names[dtype] : "?", device == 0 ? "cpu" : "cuda", shape.c_str(),
                  (unsigned long long)offset, (unsigned long long)(offset + nbytes - 1), crc);
    }
    // [/table]
    std::printf("value tree, bytes %zu-%llu: tag %u (8 = dict) with %u entries\n", pos,
                (unsigned long long)(48 + header_size - 1), f.get<uint8_t>(pos), f.get<uint32_t>(pos + 1));
    std::printf("zero padding, bytes %llu-%llu\n", (unsigned long long)(48 + header_size),
                (unsigned long long)(data_offset - 1));
    std::printf("tensor data, bytes %llu-%zu; the first float32 of the first tensor: %g\n",
                (unsigned long long)data_offset, f.b.size() - 1, double(f.get<float>(size_t(data_offset))));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sd_file_layout: %s: %s\n", argv[1], e.what());
    return 1;
  }
  return 0;
}
