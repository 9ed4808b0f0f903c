#pragma once
// Adagrad with PyTorch's update rule (torch.optim.Adagrad, 1.13's single-tensor form), per parameter
// p with gradient g (g = -g when maximize; then g = g + weight_decay * p when weight_decay != 0),
// at step t:
//   sum = sum + g * g;  p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)
//   State: "step" and "sum" (initial_accumulator_value), made for every parameter when it is added,
//   as PyTorch's constructor does (so a fresh Adagrad's state dict already has them).
// "step" is a 0-dim float32 tensor on the CPU.
#include "ember/core/options.h"
#include "ember/optim/grouped.h"

namespace ember::optim {

struct AdagradOptions {
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT
  // PyTorch's messages: "Invalid learning rate", "Invalid lr_decay value", "Invalid weight_decay value",
  // "Invalid initial_accumulator_value value", "Invalid epsilon value".
  void check() const;
  Value::Dict to_dict() const;
  void read(const Optimizer::GroupReader& r);
  EMBER_ARG(double, lr);
  EMBER_ARG(double, lr_decay) = 0;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(double, initial_accumulator_value) = 0;
  EMBER_ARG(double, eps) = 1e-10;
  EMBER_ARG(bool, maximize) = false;
};

class Adagrad : public GroupedOptimizer<AdagradOptions> {
 public:
  Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults = {});
  Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& defaults = {});
  void step() override;

 protected:
  void on_group_added(size_t group) override;
  std::vector<std::string> state_names() const override { return {"step", "sum"}; }
  std::vector<std::string> required_state(size_t, const Value&) const override { return {"step", "sum"}; }
  std::vector<std::string> nonnegative_state() const override { return {"sum"}; }
  const char* kind() const override { return "Adagrad"; }
};

}  // namespace ember::optim
