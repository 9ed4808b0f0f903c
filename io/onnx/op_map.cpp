// Ember's traced ops as ONNX operators (opset 13 to 17; docs/interop.md lists them). One function per family; an op that is
// not here is refused by name.
#if EMBER_WITH_ONNX
#include <cmath>
#include <cstdio>
#include <cstring>

#include "ember/io/onnx/graph.h"

namespace ember::onnx_export {

using ::onnx::NodeProto;
using ::onnx::TensorProto;

int32_t elem_type(DType t) {
  switch (t) {
    case DType::Float32: return TensorProto::FLOAT;
    case DType::Float64: return TensorProto::DOUBLE;
    case DType::Int64: return TensorProto::INT64;
    case DType::UInt8: return TensorProto::UINT8;
    case DType::Bool: return TensorProto::BOOL;
  }
  return TensorProto::UNDEFINED;
}

void fill_tensor(TensorProto& out, const Tensor& t, const std::string& name) {
  Tensor c = t.detach().cpu();
  out.set_name(name);
  out.set_data_type(elem_type(c.dtype()));
  for (int64_t d : c.shape()) out.add_dims(d);
  out.set_raw_data(c.raw_data(), c.nbytes());  // Ember's tensors are contiguous, little-endian hosts
}

// ---- GraphBuilder ----
std::string GraphBuilder::fresh(const std::string& hint) {
  int& n = used_[hint];
  std::string name = n == 0 ? hint : hint + "_" + std::to_string(n);
  ++n;
  while (used_.count(name) && name != hint) name += "_";
  used_[name];
  return name;
}

NodeProto& GraphBuilder::node(const std::string& op_type, const std::vector<std::string>& inputs,
                              const std::vector<std::string>& outputs, const std::string& name) {
  NodeProto& n = *graph_.add_node();
  n.set_op_type(op_type);
  n.set_name(fresh(name));
  for (const auto& i : inputs) n.add_input(i);
  for (const auto& o : outputs) n.add_output(o);
  return n;
}

std::string GraphBuilder::constant(const Tensor& t, const std::string& hint) {
  std::string out = fresh(hint);
  NodeProto& n = node("Constant", {}, {out}, out);
  auto* a = n.add_attribute();
  a->set_name("value");
  a->set_type(::onnx::AttributeProto::TENSOR);
  fill_tensor(*a->mutable_t(), t, out);
  return out;
}

std::string GraphBuilder::ints(const std::vector<int64_t>& v, const std::string& hint) {
  return constant(from_vector<int64_t>(v, {int64_t(v.size())}), hint);
}

std::string GraphBuilder::scalar(double v, DType dtype, const std::string& hint) {
  return constant(scalar_tensor(v, dtype), hint);
}

void GraphBuilder::attr(NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

void GraphBuilder::attr(NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void GraphBuilder::attr_f(NodeProto& n, const std::string& name, double v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(float(v));
}

void GraphBuilder::attr_s(NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

// ---- OpContext ----
const trace::Attr* OpContext::find(const std::string& name) const {
  for (const auto& a : op.attrs)
    if (a.name == name) return &a;
  return nullptr;
}
int64_t OpContext::i(const std::string& name) const {
  const trace::Attr* a = find(name);
  EMBER_CHECK(a && !a->ints.empty(), "export_model: op '", op.name, "' ", where, " lacks its attribute ", name);
  return a->ints[0];
}
std::vector<int64_t> OpContext::is(const std::string& name) const {
  const trace::Attr* a = find(name);
  EMBER_CHECK(a, "export_model: op '", op.name, "' ", where, " lacks its attribute ", name);
  return a->ints;
}
double OpContext::f(const std::string& name) const {
  const trace::Attr* a = find(name);
  EMBER_CHECK(a, "export_model: op '", op.name, "' ", where, " lacks its attribute ", name);
  return a->f;
}

namespace {

[[noreturn]] void refuse(const OpContext& c, const std::string& why) {
  EMBER_FAIL("export_model: the op '", c.op.name, "' ", c.where, " ", why);
}

DType in_dtype(const OpContext& c, size_t k = 0) { return c.op.inputs[k].dtype(); }

// An output shape for Reshape/Expand: dim 0 left to ONNX (-1, or 1 for Expand) where it is the batch.
std::vector<int64_t> shape_for(const OpContext& c, int64_t batch_value) {
  std::vector<int64_t> s(c.op.output.shape().begin(), c.op.output.shape().end());
  if (c.symbolic_batch && c.out_batched && !s.empty()) s[0] = batch_value;
  return s;
}

bool emit_unary(GraphBuilder& g, const OpContext& c) {
  static const std::pair<const char*, const char*> table[] = {
      {"relu", "Relu"}, {"sigmoid", "Sigmoid"}, {"tanh", "Tanh"}, {"abs", "Abs"},     {"sqrt", "Sqrt"},
      {"exp", "Exp"},   {"log", "Log"},         {"neg", "Neg"},   {"softplus", "Softplus"}, {"clone", "Identity"}};
  for (const auto& [ember_name, onnx_name] : table) {
    if (c.op.name == ember_name) {
      g.node(onnx_name, {c.inputs[0]}, {c.output}, c.output);
      return true;
    }
  }
  return false;
}

bool emit_binary(GraphBuilder& g, const OpContext& c) {
  static const std::pair<const char*, const char*> table[] = {
      {"add", "Add"},       {"sub", "Sub"},     {"mul", "Mul"},      {"div", "Div"},  {"pow", "Pow"},
      {"maximum", "Max"},   {"minimum", "Min"}, {"eq", "Equal"},     {"lt", "Less"},  {"le", "LessOrEqual"},
      {"gt", "Greater"},    {"ge", "GreaterOrEqual"}, {"rsub", "Sub"}, {"rdiv", "Div"}};
  for (const auto& [ember_name, onnx_name] : table) {
    if (c.op.name != ember_name) continue;
    if (c.find("scalar")) {  // tensor (op) scalar, or scalar (op) tensor for rsub/rdiv
      std::string s = g.scalar(c.f("scalar"), in_dtype(c), c.output + "_scalar");
      bool first = c.i("scalar_first") != 0;
      g.node(onnx_name, first ? std::vector<std::string>{s, c.inputs[0]} : std::vector<std::string>{c.inputs[0], s},
             {c.output}, c.output);
    } else {
      if (c.inputs.size() != 2) return false;
      g.node(onnx_name, {c.inputs[0], c.inputs[1]}, {c.output}, c.output);
    }
    return true;
  }
  if (c.op.name == "ne" && c.inputs.size() == 2) {
    std::string e = g.fresh(c.output + "_eq");
    g.node("Equal", {c.inputs[0], c.inputs[1]}, {e}, e);
    g.node("Not", {e}, {c.output}, c.output);
    return true;
  }
  return false;
}

void emit_gelu(GraphBuilder& g, const OpContext& c, bool tanh_form) {
  // opset 17 has no Gelu: 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation.
  const std::string& x = c.inputs[0];
  DType t = in_dtype(c);
  auto tmp = [&](const char* s) { return g.fresh(c.output + s); };
  std::string inner = tmp("_inner");
  if (tanh_form) {
    std::string x3 = tmp("_x3"), k = tmp("_kx3"), sum = tmp("_sum");
    g.node("Mul", {x, x}, {x3 + "_sq"}, x3 + "_sq");
    g.node("Mul", {x3 + "_sq", x}, {x3}, x3);
    g.node("Mul", {x3, g.scalar(0.044715, t, c.output + "_c")}, {k}, k);
    g.node("Add", {x, k}, {sum}, sum);
    std::string scaled = tmp("_scaled");
    g.node("Mul", {sum, g.scalar(std::sqrt(2.0 / M_PI), t, c.output + "_c")}, {scaled}, scaled);
    g.node("Tanh", {scaled}, {inner}, inner);
  } else {
    std::string scaled = tmp("_scaled");
    g.node("Mul", {x, g.scalar(M_SQRT1_2, t, c.output + "_c")}, {scaled}, scaled);
    g.node("Erf", {scaled}, {inner}, inner);
  }
  std::string one = tmp("_1p"), half = tmp("_half");
  g.node("Add", {inner, g.scalar(1.0, t, c.output + "_c")}, {one}, one);
  g.node("Mul", {x, g.scalar(0.5, t, c.output + "_c")}, {half}, half);
  g.node("Mul", {half, one}, {c.output}, c.output);
}

// Per-channel operands a norm op may lack (affine=false): constants of ones or zeros.
std::string or_constant(GraphBuilder& g, const OpContext& c, size_t k, const Shape& shape, double v, const char* hint) {
  if (!c.inputs[k].empty()) return c.inputs[k];
  return g.constant(full(shape, v, in_dtype(c)), c.output + hint);
}

void emit_batch_norm(GraphBuilder& g, const OpContext& c) {
  if (c.i("training"))
    refuse(c, "ran in training mode, where BatchNorm normalises with the batch's own statistics; call "
              "model.eval() before exporting (inference uses the running statistics)");
  const Tensor& x = c.op.inputs[0];
  const Shape ch{x.size(1)};
  std::string w = or_constant(g, c, 1, ch, 1.0, "_scale"), b = or_constant(g, c, 2, ch, 0.0, "_bias");
  auto& n = g.node("BatchNormalization", {c.inputs[0], w, b, c.inputs[3], c.inputs[4]}, {c.output}, c.output);
  GraphBuilder::attr_f(n, "epsilon", c.f("epsilon"));
}

void emit_pool_or_conv(GraphBuilder& g, const OpContext& c) {
  const std::string& name = c.op.name;
  if (name == "conv2d") {
    const Tensor& w = c.op.inputs[1];
    std::vector<std::string> in{c.inputs[0], c.inputs[1]};
    if (!c.inputs[2].empty()) in.push_back(c.inputs[2]);
    auto& n = g.node("Conv", in, {c.output}, c.output);
    GraphBuilder::attr(n, "kernel_shape", std::vector<int64_t>{w.size(2), w.size(3)});
    GraphBuilder::attr(n, "strides", c.is("strides"));
    GraphBuilder::attr(n, "pads", c.is("pads"));
    GraphBuilder::attr(n, "dilations", c.is("dilations"));
    GraphBuilder::attr(n, "group", c.i("group"));
  } else if (name == "max_pool2d") {
    auto& n = g.node("MaxPool", {c.inputs[0]}, {c.output}, c.output);
    for (const char* a : {"kernel_shape", "strides", "pads", "dilations"}) GraphBuilder::attr(n, a, c.is(a));
    GraphBuilder::attr(n, "ceil_mode", c.i("ceil_mode"));
  } else if (name == "avg_pool2d") {
    auto& n = g.node("AveragePool", {c.inputs[0]}, {c.output}, c.output);
    for (const char* a : {"kernel_shape", "strides", "pads"}) GraphBuilder::attr(n, a, c.is(a));
    GraphBuilder::attr(n, "ceil_mode", c.i("ceil_mode"));
    GraphBuilder::attr(n, "count_include_pad", c.i("count_include_pad"));
  } else {  // adaptive_avg_pool2d: global, or a plain average pool where the sizes divide evenly
    const Tensor& x = c.op.inputs[0];
    std::vector<int64_t> out = c.is("output_size");
    if (out[0] == 1 && out[1] == 1) {
      g.node("GlobalAveragePool", {c.inputs[0]}, {c.output}, c.output);
      return;
    }
    if (x.size(2) % out[0] != 0 || x.size(3) % out[1] != 0)
      refuse(c, "has output size " + shape_str(out) + ", which does not divide the input's plane " +
                    shape_str({x.size(2), x.size(3)}) + " (ONNX has no adaptive pooling; only such sizes map)");
    std::vector<int64_t> k{x.size(2) / out[0], x.size(3) / out[1]};
    auto& n = g.node("AveragePool", {c.inputs[0]}, {c.output}, c.output);
    GraphBuilder::attr(n, "kernel_shape", k);
    GraphBuilder::attr(n, "strides", k);
  }
}

bool emit_shape(GraphBuilder& g, const OpContext& c) {
  const std::string& name = c.op.name;
  if (name == "reshape") {
    g.node("Reshape", {c.inputs[0], g.ints(shape_for(c, -1), c.output + "_shape")}, {c.output}, c.output);
  } else if (name == "expand") {
    g.node("Expand", {c.inputs[0], g.ints(shape_for(c, 1), c.output + "_shape")}, {c.output}, c.output);
  } else if (name == "permute") {
    GraphBuilder::attr(g.node("Transpose", {c.inputs[0]}, {c.output}, c.output), "perm", c.is("perm"));
  } else if (name == "cat") {
    GraphBuilder::attr(g.node("Concat", c.inputs, {c.output}, c.output), "axis", c.i("axis"));
  } else if (name == "slice" && c.op.inputs[0].dim() >= 1) {
    // ember::slice says where; Tensor::slice (rows [start, end) of dim 0) is found from the output's
    // place in the input's storage.
    const Tensor& x = c.op.inputs[0];
    const Tensor& y = c.op.output;
    int64_t axis = 0, start = 0, end = 0, step = 1;
    if (c.find("axis")) {
      axis = c.i("axis"), start = c.i("start"), end = c.i("end"), step = c.i("step");
    } else {
      if (!y.shares_storage(x)) return false;
      int64_t row = x.size(0) == 0 ? 1 : std::max<int64_t>(x.numel() / x.size(0), 1);
      start = (y.impl()->offset - x.impl()->offset) / row, end = start + y.size(0);
    }
    if (axis == 0 && c.symbolic_batch && c.batched[0] && end == x.size(0)) end = INT64_MAX;  // all rows, any batch
    g.node("Slice", {c.inputs[0], g.ints({start}, c.output + "_starts"), g.ints({end}, c.output + "_ends"),
                     g.ints({axis}, c.output + "_axes"), g.ints({step}, c.output + "_steps")},
           {c.output}, c.output);
  } else {
    return false;
  }
  return true;
}

// index_select -> Gather, gather -> GatherElements, embedding -> Gather on the weight; max/min
// along a dim -> ReduceMax/ReduceMin and ArgMax/ArgMin (first index on ties, as Ember), mean of all.
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool emit_index_reduce(GraphBuilder& g, const OpContext& c) {
  const std::string& name = c.op.name;
  if (name == "index_select") {
    std::string idx = c.inputs[1];
    if (c.op.inputs[1].dim() == 0) {  // Ember keeps the dim (size 1); Gather with a 0-d index drops it
      idx = g.fresh(c.output + "_index");
      g.node("Reshape", {c.inputs[1], g.ints({1}, c.output + "_shape")}, {idx}, idx);
    }
    GraphBuilder::attr(g.node("Gather", {c.inputs[0], idx}, {c.output}, c.output), "axis", c.i("axis"));
  } else if (name == "gather") {
    GraphBuilder::attr(g.node("GatherElements", {c.inputs[0], c.inputs[1]}, {c.output}, c.output), "axis", c.i("axis"));
  } else if (name == "embedding") {
    GraphBuilder::attr(g.node("Gather", {c.inputs[1], c.inputs[0]}, {c.output}, c.output), "axis", int64_t(0));
  } else if (name == "max_dim" || name == "min_dim") {
    auto& n = g.node(name == "max_dim" ? "ReduceMax" : "ReduceMin", {c.inputs[0]}, {c.output}, c.output);
    GraphBuilder::attr(n, "axes", std::vector<int64_t>{c.i("axis")});
    GraphBuilder::attr(n, "keepdims", int64_t(1));
  } else if (name == "argmax" || name == "argmin") {
    auto& n = g.node(name == "argmax" ? "ArgMax" : "ArgMin", {c.inputs[0]}, {c.output}, c.output);
    GraphBuilder::attr(n, "axis", c.i("axis"));
    GraphBuilder::attr(n, "keepdims", c.i("keepdims"));
    GraphBuilder::attr(n, "select_last_index", int64_t(0));
  } else if (name == "mean_all") {
    GraphBuilder::attr(g.node("ReduceMean", {c.inputs[0]}, {c.output}, c.output), "keepdims", int64_t(0));
  } else {
    return false;
  }
  return true;
}

// nll_loss -> NegativeLogLikelihoodLoss, cross_entropy -> SoftmaxCrossEntropyLoss: class weights,
// ignore_index and the reduction as Ember's. mse, l1 and the binary cross-entropies are traced as
// their elementwise parts and mean_all or sum_all.
void emit_class_loss(GraphBuilder& g, const OpContext& c) {
  if (c.op.name == "cross_entropy" && c.f("label_smoothing") != 0.0)
    refuse(c, "has label_smoothing " + short_number(c.f("label_smoothing")) + ", which ONNX's SoftmaxCrossEntropyLoss lacks; export without label smoothing");
  if (c.op.inputs[0].dim() < 2)
    refuse(c, "has a 1-D input (one sample without a batch dim); ONNX's loss operators take (N, C, ...)");
  std::vector<std::string> in{c.inputs[0], c.inputs[1]};
  if (!c.inputs[2].empty()) in.push_back(c.inputs[2]);
  auto& n = g.node(c.op.name == "nll_loss" ? "NegativeLogLikelihoodLoss" : "SoftmaxCrossEntropyLoss", in, {c.output},
                   c.output);
  static const char* reductions[] = {"none", "mean", "sum"};
  int64_t r = c.i("reduction");
  EMBER_CHECK(r >= 0 && r <= 2, "export_model: op '", c.op.name, "' ", c.where, " has an unknown reduction ", r);
  GraphBuilder::attr_s(n, "reduction", reductions[r]);
  GraphBuilder::attr(n, "ignore_index", c.i("ignore_index"));
}

// binary_cross_entropy's elementwise loss (its reduction is an op of its own):
// -(t max(log x, -100) + (1 - t) max(log(1 - x), -100)).
void emit_binary_cross_entropy(GraphBuilder& g, const OpContext& c) {
  const DType t = in_dtype(c);
  const std::string& out = c.output;
  const std::string one = g.scalar(1.0, t, out + "_one"), floor = g.scalar(-100.0, t, out + "_floor");
  auto node = [&](const char* op, std::vector<std::string> in, const char* hint) {
    std::string v = g.fresh(out + hint);
    g.node(op, std::move(in), {v}, v);
    return v;
  };
  auto clipped_log = [&](const std::string& a, const char* hint) {
    return node("Clip", {node("Log", {a}, hint), floor}, hint);
  };
  const std::string& x = c.inputs[0];
  const std::string& y = c.inputs[1];
  std::string log_p = clipped_log(x, "_log_p"), log_q = clipped_log(node("Sub", {one, x}, "_q"), "_log_q");
  std::string sum = node("Add", {node("Mul", {y, log_p}, "_tp"), node("Mul", {node("Sub", {one, y}, "_u"), log_q}, "_uq")},
                         "_sum");
  g.node("Neg", {sum}, {out}, out);
}

}  // namespace

void emit_op(GraphBuilder& g, const OpContext& c) {
  const std::string& name = c.op.name;
  if (name != "batch_norm" && c.find("training") && c.i("training"))
    refuse(c, "ran in training mode (its random mask cannot be exported); call model.eval() before exporting");
  if (name == "linear") {
    const Tensor& x = c.op.inputs[0];
    if (x.dim() != 2) refuse(c, "has a " + std::to_string(x.dim()) + "-D input; only 2-D inputs map to Gemm");
    std::vector<std::string> in{c.inputs[0], c.inputs[1]};
    if (!c.inputs[2].empty()) in.push_back(c.inputs[2]);
    GraphBuilder::attr(g.node("Gemm", in, {c.output}, c.output), "transB", int64_t(1));
    return;
  }
  if (name == "to") {
    if (c.op.output.dtype() == in_dtype(c)) {
      g.node("Identity", {c.inputs[0]}, {c.output}, c.output);
    } else {
      GraphBuilder::attr(g.node("Cast", {c.inputs[0]}, {c.output}, c.output), "to",
                         int64_t(elem_type(c.op.output.dtype())));
    }
    return;
  }
  if (name == "conv2d" || name == "max_pool2d" || name == "avg_pool2d" || name == "adaptive_avg_pool2d")
    return emit_pool_or_conv(g, c);
  if (name == "batch_norm") return emit_batch_norm(g, c);
  if (emit_shape(g, c) || emit_unary(g, c) || emit_binary(g, c)) return;
  if (name == "gelu" || name == "gelu(tanh)") return emit_gelu(g, c, name == "gelu(tanh)");
  if (name == "leaky_relu") {
    GraphBuilder::attr_f(g.node("LeakyRelu", {c.inputs[0]}, {c.output}, c.output), "alpha", c.f("alpha"));
    return;
  }
  if (name == "softmax" || name == "log_softmax") {
    GraphBuilder::attr(g.node(name == "softmax" ? "Softmax" : "LogSoftmax", {c.inputs[0]}, {c.output}, c.output),
                       "axis", c.i("axis"));
    return;
  }
  if (emit_index_reduce(g, c)) return;
  if (name == "nll_loss" || name == "cross_entropy") return emit_class_loss(g, c);
  if (name == "binary_cross_entropy") return emit_binary_cross_entropy(g, c);
  if (name == "matmul" || name == "bmm") {
    g.node("MatMul", {c.inputs[0], c.inputs[1]}, {c.output}, c.output);
    return;
  }
  if (name == "where") {
    g.node("Where", {c.inputs[0], c.inputs[1], c.inputs[2]}, {c.output}, c.output);
    return;
  }
  if (name == "clamp") {
    DType t = in_dtype(c);
    double lo = c.f("min"), hi = c.f("max");
    std::string a = std::isinf(lo) ? "" : g.scalar(lo, t, c.output + "_min");
    std::string b = std::isinf(hi) ? "" : g.scalar(hi, t, c.output + "_max");
    g.node("Clip", {c.inputs[0], a, b}, {c.output}, c.output);
    return;
  }
  if (name == "sum" || name == "sum_all") {
    std::vector<std::string> in{c.inputs[0]};
    if (name == "sum") in.push_back(g.ints(c.is("axes"), c.output + "_axes"));
    GraphBuilder::attr(g.node("ReduceSum", in, {c.output}, c.output), "keepdims", int64_t(name == "sum"));
    return;
  }
  if (name == "layer_norm") {
    const Tensor& x = c.op.inputs[0];
    int64_t axis = c.i("axis");
    Shape norm(x.shape().begin() + axis, x.shape().end());
    std::string w = or_constant(g, c, 1, norm, 1.0, "_scale"), b = or_constant(g, c, 2, norm, 0.0, "_bias");
    auto& n = g.node("LayerNormalization", {c.inputs[0], w, b}, {c.output}, c.output);
    GraphBuilder::attr(n, "axis", axis);
    GraphBuilder::attr_f(n, "epsilon", c.f("epsilon"));
    return;
  }
  refuse(c, "has no ONNX mapping in Ember's exporter");
}

}  // namespace ember::onnx_export
#endif
