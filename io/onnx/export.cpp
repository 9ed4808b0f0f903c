// export_model: trace one forward pass (core/trace.h), keep the ops the output depends on, name
// every value, and write the graph with the model's state dict as initializers.
#include "ember/io/onnx/export.h"

#include <map>
#include <unordered_map>
#include <unordered_set>

#include "ember/core/autograd.h"
#include "ember/core/trace.h"
#include "ember/io/atomic_file.h"

#if EMBER_WITH_ONNX
#include <onnx/checker.h>

#include "ember/io/onnx/graph.h"
#endif

namespace ember::onnx {

#if !EMBER_WITH_ONNX

bool available() { return false; }

ExportSummary export_model(nn::Module&, const Tensor&, const std::string& path, const ExportOptions&) {
  EMBER_FAIL("export_model: ", path, ": this build of Ember has no ONNX support (it was configured with ",
             "EMBER_ONNX=OFF or without libonnx-dev; install libonnx-dev and configure again)");
}

#else

bool available() { return true; }

namespace {

using onnx_export::GraphBuilder;
using onnx_export::OpContext;

// The module path of each module ("" is the model itself), for errors.
std::string describe_module(const void* m, const std::unordered_map<const void*, std::pair<std::string, std::string>>& paths) {
  auto it = paths.find(m);
  if (!m || it == paths.end()) return "(outside any module's forward)";
  if (it->second.first.empty()) return "in the forward of the model itself (" + it->second.second + ")";
  return "in module '" + it->second.first + "' (" + it->second.second + ")";
}

// A value name from a module path and op: "conv1.conv2d".
std::string value_hint(const std::string& path, const std::string& op) {
  std::string n = path.empty() ? op : path + "." + op;
  for (char& ch : n)
    if (ch == '(' || ch == ')') ch = '_';
  return n;
}

// Copies of the buffers, put back when the export fails (a forward in training mode updates them).
struct BufferSnapshot {
  std::vector<std::pair<Tensor, Tensor>> saved;
  explicit BufferSnapshot(nn::Module& m) {
    for (auto& [name, b] : m.named_buffers()) saved.emplace_back(b, b.detach().clone());
  }
  void restore() {
    NoGradGuard ng;
    for (auto& [live, copy] : saved) live.copy_(copy);
  }
};

void check_options(const ExportOptions& o, const std::string& path) {
  EMBER_CHECK(o.opset() >= 13 && o.opset() <= 17, "export_model: ", path, ": opset ", o.opset(),
              " is outside the range this exporter writes and Debian's libonnx checks (13 to 17)");
  EMBER_CHECK(!o.input_name().empty() && !o.output_name().empty() && o.input_name() != o.output_name(),
              "export_model: ", path, ": the input and output need two different, non-empty names (found '",
              o.input_name(), "' and '", o.output_name(), "')");
}

void set_value_info(::onnx::ValueInfoProto& v, const std::string& name, const Tensor& t, bool batched,
                    const std::string& batch_dim) {
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_export::elem_type(t.dtype()));
  auto* shape = tt->mutable_shape();
  for (int64_t d = 0; d < t.dim(); ++d) {
    auto* dim = shape->add_dim();
    if (d == 0 && batched && !batch_dim.empty()) dim->set_dim_param(batch_dim);
    else dim->set_dim_value(t.size(d));
  }
}

}  // namespace

ExportSummary export_model(nn::Module& model, const Tensor& example_input, const std::string& path,
                           const ExportOptions& options) {
  check_options(options, path);
  EMBER_CHECK(example_input.defined() && example_input.dim() >= 1, "export_model: ", path,
              ": the example input must be a tensor with a batch dimension");
  const bool symbolic = !options.batch_dim().empty();

  // Names: state-dict keys for the parameters and persistent buffers, module paths for errors.
  StateDict sd = model.state_dict();
  std::unordered_map<const TensorImpl*, std::string> state_name;
  for (const auto& list : {model.named_parameters(), model.named_buffers()})
    for (const auto& [name, t] : list)
      if (sd.contains(name)) state_name.emplace(t.impl(), name);
  std::unordered_map<const void*, std::pair<std::string, std::string>> module_paths;
  for (auto& [p, m] : model.named_modules()) module_paths.emplace(m, std::make_pair(p, m->name()));

  // One forward pass, traced; the buffers are restored if anything below fails.
  BufferSnapshot snapshot(model);
  trace::Tracer tracer;
  Tensor output;
  try {
    NoGradGuard no_grad;
    trace::TraceGuard guard(tracer);
    output = model(example_input);
  } catch (...) {
    snapshot.restore();
    throw;
  }
  try {
    EMBER_CHECK(output.defined(), "export_model: ", path, ": the model's forward returned an undefined tensor");

    // The last op that produced each tensor, then the ops the output depends on.
    std::unordered_map<const TensorImpl*, size_t> producer;
    for (size_t k = 0; k < tracer.ops.size(); ++k) producer[tracer.ops[k].output.impl()] = k;
    const TensorImpl* input_impl = example_input.impl();
    std::vector<bool> needed(tracer.ops.size(), false);
    std::vector<const TensorImpl*> stack{output.impl()};
    std::unordered_set<const TensorImpl*> seen;
    while (!stack.empty()) {
      const TensorImpl* v = stack.back();
      stack.pop_back();
      if (!seen.insert(v).second || v == input_impl || state_name.count(v)) continue;
      auto it = producer.find(v);
      if (it == producer.end()) continue;  // a constant
      needed[it->second] = true;
      for (const Tensor& in : tracer.ops[it->second].inputs)
        if (in.defined()) stack.push_back(in.impl());
    }

    ::onnx::ModelProto proto;
    proto.set_ir_version(::onnx::IR_VERSION);
    proto.set_producer_name("ember");
    proto.set_producer_version(EMBER_VERSION);
    auto* opset = proto.add_opset_import();
    opset->set_domain("");
    opset->set_version(options.opset());
    ::onnx::GraphProto& graph = *proto.mutable_graph();
    graph.set_name(model.name());
    GraphBuilder g(graph);

    // Value names and whether dim 0 is the batch: the input, the state dict, constants, op outputs.
    std::unordered_map<const TensorImpl*, std::string> names;
    std::unordered_map<const TensorImpl*, bool> batched;
    names[input_impl] = g.fresh(options.input_name());
    batched[input_impl] = true;
    g.fresh(options.output_name());  // reserved
    for (const auto& [name, value] : sd) {
      onnx_export::fill_tensor(*graph.add_initializer(), value, name);
      g.fresh(name);
    }
    for (const auto& [impl, name] : state_name) names[impl] = name;

    int64_t count = 0;
    for (size_t k = 0; k < tracer.ops.size(); ++k) {
      if (!needed[k]) continue;
      const trace::Op& op = tracer.ops[k];
      auto path_it = module_paths.find(op.module);
      std::string mpath = path_it == module_paths.end() ? "" : path_it->second.first;
      OpContext ctx{op, {}, {}, "", describe_module(op.module, module_paths)};
      ctx.symbolic_batch = symbolic;
      for (const Tensor& in : op.inputs) {
        if (!in.defined()) {
          ctx.inputs.emplace_back();
          ctx.batched.push_back(false);
          continue;
        }
        auto it = names.find(in.impl());
        if (it == names.end()) {  // a tensor made outside the trace (a constant of the forward)
          it = names.emplace(in.impl(), g.constant(in, value_hint(mpath, "const"))).first;
          batched[in.impl()] = false;
        }
        ctx.inputs.push_back(it->second);
        ctx.batched.push_back(batched[in.impl()]);
        ctx.out_batched = ctx.out_batched || batched[in.impl()];
      }
      if (op.output.dim() == 0) ctx.out_batched = false;  // a reduction to a scalar has no batch dim
      ctx.output = op.output.is_same(output) ? options.output_name() : g.fresh(value_hint(mpath, op.name));
      onnx_export::emit_op(g, ctx);
      names[op.output.impl()] = ctx.output;
      batched[op.output.impl()] = ctx.out_batched;
      ++count;
    }
    // A model that returns its input or a parameter unchanged.
    if (!names.count(output.impl()) || names[output.impl()] != options.output_name()) {
      std::string src = names.count(output.impl()) ? names[output.impl()] : g.constant(output, "const");
      g.node("Identity", {src}, {options.output_name()}, options.output_name());
      batched[output.impl()] = output.impl() == input_impl;
    }

    set_value_info(*graph.add_input(), names[input_impl], example_input, true, options.batch_dim());
    set_value_info(*graph.add_output(), options.output_name(), output, batched[output.impl()], options.batch_dim());

    try {
      ::onnx::checker::check_model(proto);
    } catch (const std::exception& e) {
      EMBER_FAIL("export_model: ", path, ": onnx::checker rejected the exported model: ", e.what());
    }
    std::string bytes;
    EMBER_CHECK(proto.SerializeToString(&bytes), "export_model: ", path, ": protobuf could not serialise the model ",
                "(over protobuf's 2 GiB limit?)");
    io::AtomicFile file(path);
    file.pwrite_all(bytes.data(), bytes.size(), 0);
    file.commit();
    return {int64_t(graph.node_size()), int64_t(graph.initializer_size()), options.opset()};
  } catch (...) {
    snapshot.restore();
    throw;
  }
}

#endif

}  // namespace ember::onnx
