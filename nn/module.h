#pragma once
// nn::Module: a tree of named parameters, buffers and child modules, as torch.nn.Module.
//
//   struct MNISTNet : ember::nn::Module {
//     ember::nn::Conv2d conv1{1, 10, 5};
//     ember::nn::Linear fc1{320, 50};
//     MNISTNet() { register_module("conv1", conv1); register_module("fc1", fc1); }
//     std::string name() const override { return "MNISTNet"; }
//     ember::Tensor forward(const ember::Tensor& x);
//   };
//
// Children registered by reference are members of their parent (not owned); children registered
// as std::shared_ptr are owned (Sequential, ModuleList). Run a model as model(x): a member layer
// with parameters that was never registered is then refused by name (operator() below). Modules
// are neither copyable nor movable: a parent holds the addresses of its member children.
//
// Names follow PyTorch: named_parameters() gives "conv1.weight", "bn1.bias" in registration order
// (own entries first, then each child's, depth first), and state_dict() reads the same in both worlds.
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/ordered_dict.h"
#include "ember/core/tensor.h"
#include "ember/core/value.h"

namespace ember::nn {

// What load_state_dict(strict=false) could not match, in PyTorch's order.
struct LoadStateDictResult {
  std::vector<std::string> missing_keys;     // in the model, absent from the state dict
  std::vector<std::string> unexpected_keys;  // in the state dict, absent from the model
};

template <class T>
using NamedList = std::vector<std::pair<std::string, T>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  Module(Module&&) = delete;
  Module& operator=(Module&&) = delete;

  // The class name used when printing and in load_state_dict errors. By default the dynamic
  // type's name without its namespaces ("MNISTNet"); override it to be independent of the ABI.
  virtual std::string name() const;
  // What goes inside the parentheses when printing (Linear: "in_features=320, out_features=50, bias=True").
  virtual std::string extra_repr() const { return ""; }

  // ---- running it ----
  // The forward pass of a module that maps one tensor to one tensor: every layer, Sequential, and a
  // user's model that declares `Tensor forward(const Tensor& x)` (it overrides this one). So a model
  // can be held and run through a base-class handle: std::shared_ptr<nn::Module> m = ...; (*m)(x).
  // The default throws, naming the module.
  virtual Tensor forward(const Tensor& x);
  // forward(x), as PyTorch's __call__. Inside another module's call it also catches a forgotten
  // register_module: a module with parameters or buffers that was never registered anywhere is
  // refused with an error naming its type and the caller, since its tensors would be missing from
  // the caller's parameters() and state_dict().
  Tensor operator()(const Tensor& x);

  // ---- registration; a name already registered is replaced in place ----
  // Registers `t` as a leaf parameter (requires_grad set) and returns the registered handle.
  Tensor& register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  // Buffers are state that is not trained (running_mean). Non-persistent ones stay out of state_dict().
  Tensor& register_buffer(const std::string& name, Tensor t, bool persistent = true);
  // A member child, not owned: it must outlive this module (it does when it is a member).
  Module& register_module(const std::string& name, Module& child);
  // An owned child.
  template <class M>
  M& register_module(const std::string& name, std::shared_ptr<M> child) {
    M& ref = *child;
    add_child(name, &ref, std::move(child));
    return ref;
  }

  // ---- access, in registration order with dotted names ----
  // As PyTorch, a module or tensor registered under two names (tied weights) is listed once, under
  // its first name; state_dict() lists it under both.
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedList<Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedList<Tensor> named_buffers(bool recurse = true) const;  // persistent or not
  std::vector<Module*> children() const;
  NamedList<Module*> named_children() const;
  // This module (named "") and every descendant, depth first (pre-order).
  std::vector<Module*> modules();
  NamedList<Module*> named_modules(const std::string& prefix = "");
  // One own entry by name (no dots); throws naming the module and the entry if absent.
  Tensor& parameter(const std::string& name);
  Tensor& buffer(const std::string& name);
  Module& child(const std::string& name);
  bool has_parameter(const std::string& name) const { return parameters_.contains(name); }
  bool has_buffer(const std::string& name) const { return buffers_.contains(name); }

  // ---- modes and helpers ----
  // Sets training mode on this module and every descendant; eval() is train(false).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Drops every parameter's gradient (set_to_none, PyTorch 2's default) or zeroes it in place.
  void zero_grad(bool set_to_none = true);
  // Calls fn on every descendant, then on this module (children first, as PyTorch's apply).
  Module& apply(const std::function<void(Module&)>& fn);
  // Moves every parameter, gradient and buffer to `device` in place: the Tensor handles (and so an
  // optimizer's references) stay the same objects, their storage moves. An optimizer's momentum
  // buffers follow their parameters at its next step (optim/sgd.cpp); moving before the first step,
  // as in PyTorch, avoids that copy.
  Module& to(Device device);

  // ---- state ----
  // Parameters and persistent buffers, own first then children's, detached (sharing storage).
  StateDict state_dict() const;
  // Checks every key and shape first, then copies into the existing tensors in place (copy_), so
  // nothing changes when it throws and the tensors an optimizer holds stay the same objects.
  // A source of another dtype is converted, as PyTorch's copy_ does (a float64 checkpoint loads into
  // float32 parameters), and one on another device is copied across.
  // strict: missing or unexpected keys throw "Error(s) in loading state_dict for MNISTNet: ...";
  // a shape mismatch throws in either mode. Non-strict returns what did not match.
  LoadStateDictResult load_state_dict(const StateDict& state_dict, bool strict = true);

  // PyTorch's printing: "MNISTNet(\n  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))\n ...)".
  std::string repr() const;

 private:
  struct Buffer {
    Tensor tensor;
    bool persistent = true;
  };
  struct Child {
    Module* module = nullptr;
    std::shared_ptr<Module> owned;  // empty for member children
  };
  void add_child(const std::string& name, Module* child, std::shared_ptr<Module> owned);
  void check_name(const std::string& name, const char* what) const;
  void collect_state(const std::string& prefix, StateDict& out) const;
  void match_state(const std::string& prefix, const StateDict& sd, LoadStateDictResult& result,
                   std::vector<std::string>& errors, std::vector<std::pair<Tensor, const Tensor*>>& copies);

  OrderedDict<Tensor> parameters_;
  OrderedDict<Buffer> buffers_;
  OrderedDict<Child> children_;
  bool training_ = true;
  bool registered_ = false;  // registered as some module's child
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace ember::nn
