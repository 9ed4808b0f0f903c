#pragma once
// The ONNX graph under construction, for io/onnx/export.cpp and the op mappings of
// io/onnx/op_map.cpp. Private: it exposes protobuf (libonnx's classes), which users never see.
#include <onnx/onnx_pb.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "ember/core/trace.h"

namespace ember::onnx_export {

// ONNX's element type of an Ember dtype.
int32_t elem_type(DType t);
// A tensor as a TensorProto (dims, type, raw little-endian bytes).
void fill_tensor(::onnx::TensorProto& out, const Tensor& t, const std::string& name);

class GraphBuilder {
 public:
  explicit GraphBuilder(::onnx::GraphProto& graph) : graph_(graph) {}

  // A node; `name` is made unique. Returns it for attributes.
  ::onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name);
  // A fresh value name derived from `hint`.
  std::string fresh(const std::string& hint);
  // Constant nodes: a tensor, an int64 list (1-D), a 0-d scalar of `dtype`.
  std::string constant(const Tensor& t, const std::string& hint);
  std::string ints(const std::vector<int64_t>& v, const std::string& hint);
  std::string scalar(double v, DType dtype, const std::string& hint);

  static void attr(::onnx::NodeProto& n, const std::string& name, int64_t v);
  static void attr(::onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
  static void attr_f(::onnx::NodeProto& n, const std::string& name, double v);
  static void attr_s(::onnx::NodeProto& n, const std::string& name, const std::string& v);

 private:
  ::onnx::GraphProto& graph_;
  std::unordered_map<std::string, int> used_;
};

// One traced op to emit: its operands' value names ("" where absent), whether operand i carries
// the symbolic batch dim at dim 0, and the name its output gets.
struct OpContext {
  const trace::Op& op;
  std::vector<std::string> inputs;
  std::vector<bool> batched;
  std::string output;
  std::string where;  // "in module 'conv1' (Conv2d)", for errors
  bool out_batched = false;
  bool symbolic_batch = true;

  const trace::Attr* find(const std::string& name) const;
  int64_t i(const std::string& name) const;
  std::vector<int64_t> is(const std::string& name) const;
  double f(const std::string& name) const;
};

// Emits the ONNX nodes of one op; throws ember::Error naming the op and ctx.where when there is no
// mapping (or the op's mode cannot be exported, as BatchNorm in training).
void emit_op(GraphBuilder& g, const OpContext& ctx);

}  // namespace ember::onnx_export
