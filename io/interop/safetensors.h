#pragma once
// safetensors files, both ways: an 8-byte little-endian header length N, N bytes of JSON naming
// each tensor's dtype, shape and [begin, end) byte range, then the tensor bytes. Reading enforces
// every rule of the format: N at most 100 MB and inside the file, a JSON object that starts with
// '{', no duplicate names, dtype/shape/data_offsets for each tensor and nothing else, byte ranges
// matching dtype and shape that tile the data exactly (no holes, no overlap, nothing after), and
// "__metadata__" as a map of strings. A file holds a flat dict of tensors: ember::load gives that
// dict; the metadata is read with SafetensorsReader::metadata().
#include <string>
#include <vector>

#include "ember/io/checkpoint_reader.h"
#include "ember/io/interop/serialize.h"  // ember::save_safetensors

namespace ember::io {

inline constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;  // the reference implementation's limit
// JSON nesting: the header object, a tensor's object (or __metadata__), its shape and data_offsets.
inline constexpr size_t kSafetensorsMaxDepth = 3;

using StringMap = OrderedDict<std::string>;

class SafetensorsReader final : public CheckpointReader {
 public:
  // Opens `path` and validates the header and the layout; reads no tensor data.
  explicit SafetensorsReader(const std::string& path);
  ~SafetensorsReader() override;
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  std::string format() const override { return "safetensors"; }
  const std::string& path() const override { return path_; }
  uint64_t file_size() const override { return file_size_; }
  const Value& skeleton() const override { return skeleton_; }
  // safetensors has no checksums: has_checksum is false for every tensor.
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Tensor read_tensor(size_t i) override;
  // Empty unless the tensor is a bool tensor holding bytes other than 0 and 1 (the layout itself
  // was checked on opening).
  std::string check_tensor(size_t i) override;
  // The "__metadata__" map, in file order (empty when absent).
  const StringMap& metadata() const { return metadata_; }

 private:
  void parse_header(const std::string& header, uint64_t data_start);

  std::string path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  Value skeleton_;
  std::vector<TensorInfo> tensors_;
  StringMap metadata_;
};

struct SafetensorsWriteOptions {
  bool sync = true;  // fsync the file and its folder
};

// Writes a flat dict of tensors (a state dict) atomically, with optional string metadata. Anything
// else (a nested checkpoint, numbers, strings) is refused naming the first offending entry.
void write_safetensors(const Value& tensors, const std::string& path, const StringMap& metadata = {},
                       const SafetensorsWriteOptions& options = {});

}  // namespace ember::io
