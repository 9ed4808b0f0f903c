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
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/ordered_dict.h"
#include "ember/core/tensor.h"
#include "ember/core/value.h"
#include "ember/core/value_reader.h"

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
  // The rate a group started from, as PyTorch's "initial_lr": set by the first scheduler built on
  // the optimizer (OneCycleLR sets its own), read by every later one as its base rate; saved in the
  // state dict's param groups when set.
  std::optional<double> initial_lr(size_t group) const { return groups_.at(group).initial_lr; }
  void set_initial_lr(size_t group, std::optional<double> lr) { groups_.at(group).initial_lr = lr; }
  // The momentum a scheduler may cycle (OneCycleLR): "momentum" for SGD and RMSprop, "betas" (its
  // beta1) for Adam and AdamW, nullptr where there is none (Adagrad; then momentum() throws).
  virtual const char* momentum_key() const { return nullptr; }
  virtual double momentum(size_t group) const;
  virtual void set_momentum(size_t group, double momentum);

  // Reads a loaded parameter group's options, naming the optimizer, the group and the key in every
  // error: `SGD.load_state_dict: parameter group 0: "lr" must be a number, found a string`. A key
  // the group lacks leaves the value as it is; "lr" must be there.
  class GroupReader {
   public:
    GroupReader(const char* kind, size_t g, const Value& group);
    // A number (an int, a double or a 0-dim tensor, as PyTorch may carry it) not below `min`:
    // `"lr" must be a number >= 0, found -0.1` (NaN is refused too).
    void number(const char* key, double& out, double min = ValueReader::kNoMin) const;
    void flag(const char* key, bool& out) const;
    // Two numbers each in [0, 1) (Adam's betas): `"betas" must be two numbers in [0, 1), found [0.9, 1]`.
    void betas(const char* key, std::pair<double, double>& out) const;
    bool has(const char* key) const { return reader_.has(key); }
    // Throws "<where>: "key" must be <expected>, found <found>".
    [[noreturn]] void fail(const char* key, const std::string& expected, const std::string& found) const;

   private:
    ValueReader reader_;  // core's reader, in the style of these messages
  };

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
  // The state names a parameter may have ("momentum_buffer"), for checking a loaded dict. "step" is
  // a count kept as a 0-dim float32 tensor on the CPU (as PyTorch); every other state has the
  // parameter's shape.
  virtual std::vector<std::string> state_names() const = 0;
  // The state names a parameter that has any state must have under group `g`'s loaded options
  // (already checked); a load missing one is refused. Default: none.
  virtual std::vector<std::string> required_state(size_t g, const Value& group) const { return {}; }
  // The state names whose every element must be >= 0 (sums of squares): a loaded negative one is
  // refused, as it would make the update's square root NaN. Default: none.
  virtual std::vector<std::string> nonnegative_state() const { return {}; }
  // The optimizer's name for messages ("SGD").
  virtual const char* kind() const = 0;

 private:
  struct Group {
    std::vector<Tensor> params;
    std::vector<OrderedDict<Tensor>> state;  // one per parameter
    std::optional<double> initial_lr;
  };
  std::vector<Group> groups_;
};

}  // namespace ember::optim
