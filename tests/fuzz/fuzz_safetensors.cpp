// libFuzzer target for the safetensors reader. Any input must end in loaded tensors or an
// ember::Error: a crash, a sanitizer report, another exception, or a leak is a bug.
// Each input is read as given, and with its length field set to where its JSON header really ends,
// so that mutations of the header are parsed instead of failing the length check.

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_reader.h"
#include "ember/io/interop/safetensors.h"

namespace {
void read_all(const uint8_t* data, size_t size) { ember::fuzz::read_all<ember::io::SafetensorsReader>(data, size); }

// Where the JSON object starting at byte 8 closes, plus the spaces after it; 0 if it never closes.
size_t header_end(const uint8_t* data, size_t size) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 8; i < size; ++i) {
    uint8_t c = data[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
      ++i;
      while (i < size && data[i] == ' ') ++i;
      return i;
    }
  }
  return 0;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ember::fuzz::open_mem_file("ember_fuzz_safetensors");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  read_all(data, size);
  size_t end = size >= 9 && data[8] == '{' ? header_end(data, size) : 0;
  if (end > 8) {
    std::vector<uint8_t> fixed(data, data + size);
    uint64_t n = end - 8;
    for (int k = 0; k < 8; ++k) fixed[size_t(k)] = uint8_t(n >> (8 * k));
    read_all(fixed.data(), fixed.size());
  }
  return 0;
}
