#include "ember/core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "ember/core/ops.h"
#include "ember/core/parallel.h"
#include "ember/core/trace.h"

namespace ember {

namespace {
thread_local bool g_grad_enabled = true;

Edge edge_of(const Tensor& t) {
  if (!t.defined()) return {};
  if (t.grad_fn()) return {t.grad_fn(), nullptr};
  if (t.impl()->requires_grad) return {nullptr, t.impl_ptr()};
  return {};
}

// Leaf .grad accumulates; a new gradient is stored as its own tensor so it never aliases a graph value.
void accumulate_leaf(TensorImpl& leaf, const Tensor& g) {
  if (!leaf.grad) {
    leaf.grad = g.detach().clone().impl_ptr();
  } else {
    Tensor(leaf.grad).add_(g);
  }
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
void set_grad_enabled(bool on) { g_grad_enabled = on; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->requires_grad()) return true;
  return false;
}

Tensor record(const char* name, Tensor output, std::vector<Tensor> inputs, BackwardFn fn) {
  if (trace::active()) trace::note(name, inputs, output);
  if (!g_grad_enabled) return output;
  bool any = false;
  for (const Tensor& t : inputs) any = any || t.requires_grad();
  if (!any) return output;
  auto node = std::make_shared<Node>();
  node->name = name;
  for (const Tensor& t : inputs) node->inputs.push_back(edge_of(t));
  node->backward = std::move(fn);
  output.impl()->grad_fn = std::move(node);
  return output;
}

void run_backward(const Tensor& root, const Tensor& grad_in, bool retain_graph) {
  adapt_num_threads();  // once per training step: the thread count follows the machine's load
  EMBER_CHECK(root.requires_grad(), "backward: the tensor does not require grad and has no grad_fn");
  Tensor grad = grad_in;
  if (!grad.defined()) {
    EMBER_CHECK(root.numel() == 1, "backward: grad can be implicitly created only for scalar outputs; ",
                "the output has shape ", shape_str(root.shape()), ", pass a gradient of that shape");
    grad = ones(root.shape(), root.dtype(), root.device());
  } else {
    EMBER_CHECK(grad.shape() == root.shape(), "backward: gradient of shape ", shape_str(grad.shape()),
                " for an output of shape ", shape_str(root.shape()));
  }
  NoGradGuard no_grad;  // backward computations are not recorded (no create_graph)
  grad = grad.detach();
  if (!root.grad_fn()) {
    accumulate_leaf(*root.impl(), grad);
    return;
  }

  // Order nodes so each runs after every node that feeds it a gradient (iterative DFS postorder).
  std::vector<Node*> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<Node*, size_t>> stack{{root.grad_fn().get(), 0}};
  seen.insert(root.grad_fn().get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* child = node->inputs[next++].node.get();
      if (child && seen.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), grad}};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    auto found = pending.find(node);
    if (found == pending.end()) continue;
    Tensor g = std::move(found->second);
    pending.erase(found);
    EMBER_CHECK(node->backward, "backward: trying to backward through the graph a second time (through ", node->name,
                "); the saved values were freed after the first backward. Pass retain_graph=true to the first "
                "backward if you need to call it twice");
    std::vector<Tensor> grads = node->backward(g);
    EMBER_CHECK(grads.size() == node->inputs.size(), "backward: ", node->name, " returned ", grads.size(),
                " gradients for ", node->inputs.size(), " inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      const Edge& e = node->inputs[i];
      if (!e.active() || !grads[i].defined()) continue;
      if (e.leaf) {
        accumulate_leaf(*e.leaf, grads[i]);
      } else {
        auto [slot, inserted] = pending.try_emplace(e.node.get(), grads[i]);
        if (!inserted) slot->second = add(slot->second, grads[i]);
      }
    }
    if (!retain_graph) node->backward = nullptr;  // frees the saved tensors
  }
}

}  // namespace ember
