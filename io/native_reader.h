#pragma once
// The native format's reader and constants (docs/FORMAT.md), private to Ember: users open any
// checkpoint through io::open_checkpoint (io/interop/serialize.h) and its CheckpointReader interface.
#include <cstdint>
#include <string>
#include <vector>

#include "ember/io/checkpoint_reader.h"
#include "ember/io/format.h"

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

}  // namespace ember::io
