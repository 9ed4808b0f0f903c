#pragma once
// ONNX models read as weights: ember::load("model.onnx") gives the model's initializers as a flat
// dict of tensors (a state dict; an ONNX file exported by Ember names them by their state-dict
// keys), and OnnxReader::graph() lists the graph node by node for tools. A file is recognised by
// its content: a protobuf ModelProto starting with its ir_version field.
//
// Checks, each an error naming the file and the initializer: the file at most kOnnxMaxFile bytes
// (protobuf's limit) and a ModelProto that parses; every initializer named, once; no external data
// (data_location EXTERNAL) and no segments; a data type Ember has (FLOAT, DOUBLE, INT64, UINT8,
// BOOL); at most kMaxRank non-negative dims whose byte count does not overflow; raw_data of exactly
// that byte count, or typed data (float_data, ...) of exactly that element count; bools 0 or 1.
// All of this is checked before a tensor is allocated. Before protobuf parses anything, a walk of
// the wire format estimates what the parse will allocate and refuses a file that needs more than
// twice its size plus 64 MiB (millions of empty sub-messages); then a ModelProto with an
// ir_version, an opset_import and a graph; no sparse initializers; one data field per tensor
// (raw_data or the typed field, never both). Without ONNX support in the build
// (libonnx-dev), opening an ONNX file says so by name.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ember/io/checkpoint_reader.h"

namespace ember::io {

inline constexpr uint64_t kOnnxMaxFile = 2147483647;  // protobuf's 2 GiB limit on one message

struct OnnxNode {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;
};

struct OnnxGraph {
  int64_t ir_version = 0;
  std::string producer;  // "ember 0.2.0"
  std::vector<std::pair<std::string, int64_t>> opsets;  // domain ("" is ONNX's own) and version
  std::vector<std::string> inputs, outputs;  // graph inputs that are not initializers, and outputs
  std::vector<OnnxNode> nodes;
};

class OnnxReader final : public CheckpointReader {
 public:
  // Reads and validates the whole file (the model is one protobuf message).
  explicit OnnxReader(const std::string& path);

  std::string format() const override { return "onnx"; }
  const std::string& path() const override { return path_; }
  uint64_t file_size() const override { return file_size_; }
  const Value& skeleton() const override { return skeleton_; }
  // ONNX has no checksums: has_checksum is false for every tensor; offset is 0.
  const std::vector<TensorInfo>& tensors() const override { return tensors_; }
  Tensor read_tensor(size_t i) override;
  std::string check_tensor(size_t i) override;
  const OnnxGraph& graph() const { return graph_; }

 private:
  std::string path_;
  uint64_t file_size_ = 0;
  Value skeleton_;
  std::vector<TensorInfo> tensors_;
  std::vector<std::string> data_;  // each initializer's bytes, validated
  OnnxGraph graph_;
};

// Whether the first bytes of a file look like an ONNX ModelProto.
bool looks_like_onnx(const uint8_t* head, size_t n);

}  // namespace ember::io
