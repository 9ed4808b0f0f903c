#pragma once
// IDX files (the format MNIST and Fashion-MNIST ship in): a big-endian header, then raw elements.
//   bytes 0..3   magic: 0x00 0x00 <type> <ndim>; only type 0x08 (uint8) is read here
//   bytes 4..    ndim big-endian uint32 sizes
//   then         prod(sizes) elements, nothing after them
// Files may be raw or gzip-compressed; gzip is recognised by its magic bytes (1f 8b), not by the
// file name. Everything read is validated before it is trusted: the magic, the sizes (checked
// arithmetic, a cap), the data length against what the header promises, and no trailing bytes.
// Errors name the file and the byte offset; for a gzip file the offset counts decompressed bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ember/core/tensor.h"

namespace ember::data {

// What an IDX file is expected to hold; the magic fixes the element type and the rank.
enum class IdxKind : uint32_t {
  Labels = 0x00000801,  // uint8, 1-D (N)
  Images = 0x00000803,  // uint8, 3-D (N, rows, cols)
};

// "labels" or "images", as the error messages name them.
const char* idx_kind_name(IdxKind kind);

// The largest data section read (1 GiB): far above MNIST's 47 MB, far below what a corrupt header
// could ask for (up to 2^96 bytes).
constexpr uint64_t kMaxIdxDataBytes = uint64_t(1) << 30;

// Reads `path` (raw or .gz) and returns a uint8 CPU tensor of the stored shape.
// Throws ember::Error: "cannot open PATH: No such file or directory", "PATH: bad IDX magic
// 0x00000802 at byte 0, expected 0x00000803 (images)", "PATH: truncated at byte 1234: header
// promises 47040000 bytes of data, found 1218", "PATH: 5 trailing bytes at byte 10008 ...";
// for gzip also a cut stream ("truncated at byte N of the decompressed data: the gzip stream
// stops before its end ..."), corrupt data ("corrupt gzip data at byte N ...: incorrect data
// check") and non-gzip bytes after the last gzip member.
Tensor read_idx(const std::string& path, IdxKind kind);
inline Tensor read_idx_images(const std::string& path) { return read_idx(path, IdxKind::Images); }
inline Tensor read_idx_labels(const std::string& path) { return read_idx(path, IdxKind::Labels); }

// Same checks on an in-memory, already decompressed IDX image; `name` stands for the file in
// messages. For fuzzing and for callers that hold the bytes already.
Tensor parse_idx(const uint8_t* bytes, size_t size, const std::string& name, IdxKind kind);

// `path` if it exists, else `path` + ".gz" if that exists, else "" (for datasets that accept both).
std::string find_raw_or_gz(const std::string& path);

}  // namespace ember::data
