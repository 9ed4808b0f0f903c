#pragma once
// Helpers for the io tests: a scratch folder, whole-file bytes, and patching a checkpoint's header
// with its checksum repaired (so a test reaches the check behind the checksum).
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "helpers.h"

namespace ember::test {

// A fresh folder under the system's temp folder, removed with everything in it on destruction.
struct ScratchDir {
  std::filesystem::path dir;
  explicit ScratchDir(const std::string& tag) {
    dir = std::filesystem::temp_directory_path() / ("ember_" + tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  // Names of the files in the folder, sorted.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
};

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes, size_t n = SIZE_MAX) {
  // A fresh file rather than a truncated one: ext4 flushes a truncated-and-rewritten file on close,
  // which would make the thousands of rewrites in the robustness tests take seconds each batch.
  std::filesystem::remove(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(std::min(n, bytes.size())));
}

inline uint64_t le64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(b[at + i]) << (8 * i);
  return v;
}
inline void put_le32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = uint8_t(v >> (8 * i));
}
inline void put_le64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + i] = uint8_t(v >> (8 * i));
}

// Recomputes the header checksum (preamble bytes 0-43, then the header) after a deliberate edit.
inline void fix_header_crc(std::vector<uint8_t>& b) {
  uint64_t header_size = le64(b, 16);
  uLong crc = crc32_z(0, b.data(), 44);
  crc = crc32_z(crc, b.data() + 48, size_t(header_size));
  put_le32(b, 44, uint32_t(crc));
}

// Position of the first occurrence of `needle` in `b` at or after `from` (npos if none).
inline size_t find_bytes(const std::vector<uint8_t>& b, const std::string& needle, size_t from = 0) {
  auto it = std::search(b.begin() + std::ptrdiff_t(from), b.end(), needle.begin(), needle.end());
  return it == b.end() ? std::string::npos : size_t(it - b.begin());
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace ember::test
