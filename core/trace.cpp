#include "ember/core/trace.h"

#include <algorithm>

namespace ember::trace {

thread_local Tracer* detail::t_tracer = nullptr;

TraceGuard::TraceGuard(Tracer& tracer) : prev_(detail::t_tracer) { detail::t_tracer = &tracer; }
TraceGuard::~TraceGuard() { detail::t_tracer = prev_; }

namespace {
bool is_input(const std::vector<Tensor>& inputs, const Tensor& output) {
  return std::any_of(inputs.begin(), inputs.end(), [&](const Tensor& t) { return t.is_same(output); });
}

void append(Tracer& tr, const char* name, std::vector<Tensor> inputs, const Tensor& output,
            std::vector<Attr> attrs, bool described) {
  Op o;
  o.name = name;
  o.inputs = std::move(inputs);
  o.output = output;
  o.attrs = std::move(attrs);
  o.described = described;
  o.module = tr.modules.empty() ? nullptr : tr.modules.back();
  tr.ops.push_back(std::move(o));
}
}  // namespace

void op(const char* name, std::vector<Tensor> inputs, const Tensor& output, std::vector<Attr> attrs) {
  Tracer* tr = detail::t_tracer;
  if (!tr || !output.defined() || is_input(inputs, output)) return;
  tr->described.insert(output.impl());
  append(*tr, name, std::move(inputs), output, std::move(attrs), true);
}

void note(const char* name, const std::vector<Tensor>& inputs, const Tensor& output) {
  Tracer* tr = detail::t_tracer;
  if (!tr || !output.defined() || is_input(inputs, output) || tr->described.count(output.impl())) return;
  append(*tr, name, inputs, output, {}, false);
}

}  // namespace ember::trace
