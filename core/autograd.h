#pragma once
// The autograd graph: each op that sees an input requiring grad records a Node holding its backward
// function and edges to the nodes (or leaves) its inputs came from. backward() walks the nodes in
// reverse topological order and frees each one's saved tensors as it goes, unless retain_graph.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/tensor.h"

namespace ember {

// Where a gradient goes: an upstream node, or a leaf tensor whose .grad accumulates it.
struct Edge {
  std::shared_ptr<Node> node;
  std::shared_ptr<TensorImpl> leaf;
  bool active() const { return node || leaf; }
};

// Given the gradient of the node's output, returns one gradient per input (undefined where the
// input needs none). Captures what it needs; saved tensors should be detach()ed aliases.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;          // the op, for error messages ("conv2d")
  std::vector<Edge> inputs;  // one per op input, in order
  BackwardFn backward;       // empty once the graph is freed
};

// Whether ops record graph nodes (thread-local; on by default).
bool grad_enabled();
void set_grad_enabled(bool on);

// Disables graph recording in a scope, as torch.no_grad().
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// True if grad mode is on and any input requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

// Attaches a node to `output` if any input requires grad; `inputs` are the op's differentiable
// inputs in the order `fn` returns gradients. Returns `output` for chaining.
Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn fn);

// Runs backward from `root` with gradient `grad` (same shape as root).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace ember
