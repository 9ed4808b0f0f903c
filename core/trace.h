#pragma once
// Op tracing for exporters (io/onnx): while a TraceGuard is alive on a thread, every op run on that
// thread is appended to its Tracer with its operands, its output, its attributes and the module
// whose operator() called it. Ops with attributes say so with trace::op; every other op that records
// autograd (record() in core/autograd.cpp) is noted by name only, so an exporter can refuse an op it
// has no mapping for instead of baking its result in as a constant. Off, the cost is one check of a
// thread-local pointer per op. Private: not part of the installed API.
#include <string>
#include <unordered_set>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::trace {

struct Attr {
  enum class Kind { Int, Ints, Float, String };
  std::string name;
  Kind kind = Kind::Int;
  std::vector<int64_t> ints;  // one value for Int
  double f = 0.0;
  std::string s;

  static Attr i(std::string name, int64_t v) { return {std::move(name), Kind::Int, {v}, 0.0, {}}; }
  static Attr is(std::string name, std::vector<int64_t> v) { return {std::move(name), Kind::Ints, std::move(v), 0.0, {}}; }
  static Attr fl(std::string name, double v) { return {std::move(name), Kind::Float, {}, v, {}}; }
  static Attr str(std::string name, std::string v) { return {std::move(name), Kind::String, {}, 0.0, std::move(v)}; }
};

struct Op {
  std::string name;             // Ember's op name: "conv2d", "batch_norm"
  std::vector<Tensor> inputs;   // in the op's order; undefined where an optional operand is absent
  Tensor output;
  std::vector<Attr> attrs;
  bool described = false;       // false: noted by record() only, by name (no attributes)
  const void* module = nullptr; // the innermost module whose operator() was running, or null
};

struct Tracer {
  std::vector<Op> ops;  // in execution order; a later op producing the same tensor replaces an earlier one
  std::vector<const void*> modules;
  std::unordered_set<const TensorImpl*> described;
};

namespace detail {
extern thread_local Tracer* t_tracer;
}
inline bool active() { return detail::t_tracer != nullptr; }

// Starts tracing into `tracer` on this thread; tracing stops when the guard goes.
class TraceGuard {
 public:
  explicit TraceGuard(Tracer& tracer);
  ~TraceGuard();
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  Tracer* prev_;
};

// Marks the module (nn::Module::operator()) that the ops in this scope belong to.
class ModuleScope {
 public:
  explicit ModuleScope(const void* module) : on_(active()) {
    if (on_) detail::t_tracer->modules.push_back(module);
  }
  ~ModuleScope() {
    if (on_ && detail::t_tracer) detail::t_tracer->modules.pop_back();
  }
  ModuleScope(const ModuleScope&) = delete;
  ModuleScope& operator=(const ModuleScope&) = delete;

 private:
  bool on_;
};

// An op with its attributes (call only when active()). An output that is one of the inputs (an op
// that returned its input unchanged) is not recorded.
void op(const char* name, std::vector<Tensor> inputs, const Tensor& output, std::vector<Attr> attrs = {});
// An op known by name only (from record()); ignored when trace::op already described `output`.
void note(const char* name, const std::vector<Tensor>& inputs, const Tensor& output);

}  // namespace ember::trace
