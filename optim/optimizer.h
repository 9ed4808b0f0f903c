#pragma once
// Optimizer: parameter groups (each with its own hyper-parameters, kept by the subclass) and
// per-parameter state (SGD's "momentum_buffer"), with PyTorch's state dict layout:
//   {"state": {"0": {"momentum_buffer": tensor}, ...},
//    "param_groups": [{"lr": 0.01, "momentum": 0.5, ..., "params": [0, 1, 2, 3]}, ...]}
// Parameters are numbered across groups in order, as PyTorch numbers them. PyTorch's state keys are
// ints; a Value dict's keys are strings, so the state is keyed by the decimal index ("0", "1", ...),
// in index order, and holds only parameters that have state (those that have had a gradient).
// The state dict's tensors are the optimizer's own (not copies), as PyTorch's; save them before
// stepping again if you need a snapshot.
#include <string>
#include <vector>

#include "ember/core/ordered_dict.h"
#include "ember/core/tensor.h"
#include "ember/core/value.h"

namespace ember::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates every parameter that has a gradient, in place and outside autograd.
  virtual void step() = 0;
  // Drops every parameter's gradient (set_to_none, PyTorch 2's default), or zeroes it in place.
  void zero_grad(bool set_to_none = true);

  size_t num_param_groups() const { return groups_.size(); }
  const std::vector<Tensor>& params(size_t group) const;
  // All parameters, in index order.
  std::vector<Tensor> all_params() const;
  // Every group has a learning rate; schedulers read and write it through these.
  virtual double lr(size_t group) const = 0;
  virtual void set_lr(size_t group, double lr) = 0;

  // The state of one parameter (empty before its first step); throws if `param` is not optimized here.
  const OrderedDict<Tensor>& state(const Tensor& param) const;

  Value state_dict() const;
  // Checks the group count and sizes, the state's indices, names and shapes, and the hyper-parameters
  // first; then copies the hyper-parameters and puts a copy of each state tensor on its parameter's
  // device (floating state in the parameter's dtype). The loaded dict's tensors are not aliased.
  void load_state_dict(const Value& state_dict);

 protected:
  Optimizer() = default;
  // Validates and appends a group's parameters (the subclass appends its options alongside).
  void add_group_params(std::vector<Tensor> params);
  OrderedDict<Tensor>& state_at(size_t group, size_t i) { return groups_[group].state[i]; }
  // The group's hyper-parameters as a dict, in the order PyTorch writes them ("params" is added after).
  virtual Value::Dict group_options(size_t group) const = 0;
  // Throws if `group` (a loaded param group dict for group g) has missing or invalid hyper-parameters.
  virtual void check_group_options(size_t g, const Value& group) const = 0;
  // Sets group `g`'s hyper-parameters from a loaded dict already checked by check_group_options.
  virtual void set_group_options(size_t g, const Value& group) = 0;
  // The state names a parameter may have ("momentum_buffer"), for checking a loaded dict.
  virtual std::vector<std::string> state_names() const = 0;
  // The optimizer's name for messages ("SGD").
  virtual const char* kind() const = 0;

 private:
  struct Group {
    std::vector<Tensor> params;
    std::vector<OrderedDict<Tensor>> state;  // one per parameter
  };
  std::vector<Group> groups_;
};

}  // namespace ember::optim
