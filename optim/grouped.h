#pragma once
// GroupedOptimizer<Options>: the parameter-group bookkeeping every optimizer shares (SGD, Adam, AdamW,
// RMSprop, Adagrad): one Options per group (the defaults where a group brings
// none), lr/set_lr for schedulers, and reading a loaded group's options. An Options type provides
//   void check() const;                                  // PyTorch's constructor messages
//   Value::Dict to_dict() const;                         // PyTorch's group keys, in its order
//   void read(const Optimizer::GroupReader& r);          // a loaded group's keys, range-checked
#include <optional>
#include <vector>

#include "ember/optim/optimizer.h"

namespace ember::optim {

template <class Options>
class GroupedOptimizer : public Optimizer {
 public:
  // A group of parameters with its own options (the optimizer's defaults when none are given).
  struct ParamGroup {
    std::vector<Tensor> params;
    std::optional<Options> options;
    ParamGroup(std::vector<Tensor> params_, std::optional<Options> options_ = std::nullopt)  // NOLINT
        : params(std::move(params_)), options(std::move(options_)) {}
  };

  const Options& defaults() const { return defaults_; }
  // A group's options, changeable between steps (validated again at the next step).
  Options& options(size_t group = 0) {
    EMBER_CHECK(group < options_.size(), kind(), ": parameter group ", group, " out of range (", options_.size(),
                " groups)");
    return options_[group];
  }
  const Options& options(size_t group = 0) const { return const_cast<GroupedOptimizer*>(this)->options(group); }
  double lr(size_t group) const override { return options(group).lr(); }
  void set_lr(size_t group, double lr) override { options(group).lr(lr); }

  // Appends a group (with the defaults when it has no options of its own).
  void add_param_group(ParamGroup group) {
    Options o = group.options.value_or(defaults_);
    o.check();
    add_group_params(std::move(group.params));
    options_.push_back(o);
    on_group_added(num_param_groups() - 1);
  }

 protected:
  explicit GroupedOptimizer(const Options& defaults) : defaults_(defaults) { defaults.check(); }
  // Adds the groups; a subclass's constructor calls this (so that on_group_added dispatches to it).
  void add_groups(std::vector<ParamGroup> groups) {
    size_t total = 0;
    for (const auto& g : groups) total += g.params.size();
    EMBER_CHECK(total > 0, "optimizer got an empty parameter list");
    for (auto& g : groups) add_param_group(std::move(g));
  }
  // Called after a group is added (Adagrad fills its state there, as PyTorch's constructor does).
  virtual void on_group_added(size_t group) {}

  Value::Dict group_options(size_t g) const override { return options_[g].to_dict(); }
  void check_group_options(size_t g, const Value& group) const override { parse(g, group); }
  void set_group_options(size_t g, const Value& group) override { options_[g] = parse(g, group); }
  // Group g's options as the loaded dict sets them (for required_state).
  Options parse(size_t g, const Value& group) const {
    GroupReader reader(kind(), g, group);
    Options o = options_[g];
    o.read(reader);
    o.check();
    return o;
  }

 private:
  Options defaults_;
  std::vector<Options> options_;  // one per group
};

}  // namespace ember::optim
