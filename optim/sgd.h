#pragma once
// Stochastic gradient descent with PyTorch's update rule (torch.optim.SGD), per parameter p with gradient g:
//   g = maximize ? -g : g;   g = g + weight_decay * p
//   momentum != 0:  buf = g (cloned) on the first step, else buf = momentum * buf + (1 - dampening) * g
//                   g = nesterov ? g + momentum * buf : buf
//   p = p - lr * g
// Parameters without a gradient are skipped. Only momentum != 0 keeps state ("momentum_buffer"),
// as PyTorch 2 (1.13 also stored a None buffer when momentum is 0).
#include <optional>
#include <vector>

#include "ember/core/options.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

struct SGDOptions {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, so SGD(params, 0.01) reads well
  EMBER_ARG(double, lr);
  EMBER_ARG(double, momentum) = 0;
  EMBER_ARG(double, dampening) = 0;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(bool, nesterov) = false;
  EMBER_ARG(bool, maximize) = false;
};

// Throws PyTorch's messages: "Invalid learning rate: -0.1", "Invalid momentum value: -1",
// "Invalid weight_decay value: -0.5", "Nesterov momentum requires a momentum and zero dampening".
void check_sgd_options(const SGDOptions& options);

// A group of parameters with its own options (the optimizer's defaults when none are given).
struct SGDParamGroup {
  std::vector<Tensor> params;
  std::optional<SGDOptions> options;
  SGDParamGroup(std::vector<Tensor> params_, std::optional<SGDOptions> options_ = std::nullopt)
      : params(std::move(params_)), options(std::move(options_)) {}
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& defaults);
  SGD(std::vector<SGDParamGroup> groups, const SGDOptions& defaults);

  void step() override;
  // Appends a group (with the defaults when it has no options of its own).
  void add_param_group(SGDParamGroup group);

  const SGDOptions& defaults() const { return defaults_; }
  // A group's options, changeable between steps (validated again at the next step).
  SGDOptions& options(size_t group = 0);
  double lr(size_t group) const override;
  void set_lr(size_t group, double lr) override;
  const char* momentum_key() const override { return "momentum"; }
  double momentum(size_t group) const override { return options_.at(group).momentum(); }
  void set_momentum(size_t group, double m) override { options(group).momentum(m); }

 protected:
  Value::Dict group_options(size_t group) const override;
  void check_group_options(size_t g, const Value& group) const override;
  void set_group_options(size_t g, const Value& group) override;
  std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }
  const char* kind() const override { return "SGD"; }

 private:
  SGDOptions defaults_;
  std::vector<SGDOptions> options_;  // one per group
};

}  // namespace ember::optim
