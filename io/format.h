#pragma once
// Ember's native checkpoint format, version 1 (docs/FORMAT.md is the specification):
//   [0, 48)            preamble: magic, version, flags, header size, data offset, file size, CRC32
//   [48, 48 + H)       header: the tensor table, then the value tree, in a compact binary encoding
//   [data_offset, end) tensor bytes, each tensor starting on a 64-byte boundary, in table order
#include <cstdint>
#include <string>
#include <vector>

#include "ember/io/checkpoint_reader.h"

namespace ember::io {

inline constexpr char kMagic[8] = {'\x89', 'E', 'M', 'B', '\r', '\n', '\x1a', '\n'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint64_t kPreambleSize = 48;
inline constexpr uint64_t kAlignment = 64;
inline constexpr uint64_t kMaxHeaderSize = uint64_t(64) << 20;
inline constexpr int kMaxDepth = 128;      // nesting of lists and dicts
inline constexpr size_t kMaxNodes = size_t(1) << 21;  // values in the tree (2,097,152)
inline constexpr uint32_t kMaxRank = 64;

// Tags of the value tree's encoding.
enum class Tag : uint8_t { None = 0, False = 1, True = 2, Int = 3, Double = 4, String = 5, Tensor = 6, List = 7, Dict = 8 };

class NativeReader final : public CheckpointReader {
 public:
  // Opens `path` and validates the preamble, the header and the tensor layout; reads no tensor data.
  explicit NativeReader(const std::string& path);
  ~NativeReader() override;
  NativeReader(const NativeReader&) = delete;
  NativeReader& operator=(const NativeReader&) = delete;

  std::string format() const override { return "ember v" + std::to_string(kFormatVersion); }
  const std::string& path() const override { return path_; }
  uint64_t file_size() const override { return file_size_; }
  const Value& skeleton() const override { return skeleton_; }
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Tensor read_tensor(size_t i) override;
  // Large reads go on several threads (up to OpenMP's thread count, at most 4).
  std::vector<Tensor> read_tensors(const std::vector<size_t>& which) override;
  std::string check_tensor(size_t i) override;

 private:
  void parse_header(const std::vector<uint8_t>& header);
  void check_padding(size_t i);
  void prefetch(size_t i);
  uint64_t end_of(size_t i) const;  // where the bytes after tensor i's padding begin

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  Value skeleton_;
  std::vector<TensorInfo> tensors_;
};

struct WriteOptions {
  bool sync = true;  // fsync the file and its folder; off only to measure what the sync costs
};

// Writes `value` to `path` atomically in the native format. Tensors on a GPU are copied to the host
// one at a time; their device is recorded.
void write_native(const Value& value, const std::string& path, const WriteOptions& options = {});

namespace detail {
// Test seam: called after each chunk of tensor data is written, with the data bytes written so far.
using WriteHook = void (*)(uint64_t bytes_written);
void set_write_hook(WriteHook hook);
}  // namespace detail

}  // namespace ember::io
