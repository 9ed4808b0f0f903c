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
#include "ember/optim/grouped.h"

namespace ember::optim {

struct SGDOptions {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, so SGD(params, 0.01) reads well
  // PyTorch's messages: "Invalid learning rate: -0.1", "Invalid momentum value: -1",
  // "Invalid weight_decay value: -0.5", "Nesterov momentum requires a momentum and zero dampening".
  void check() const;
  Value::Dict to_dict() const;                 // PyTorch's group keys, in its order
  void read(const Optimizer::GroupReader& r);  // a loaded group's keys, range-checked
  EMBER_ARG(double, lr);
  EMBER_ARG(double, momentum) = 0;
  EMBER_ARG(double, dampening) = 0;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(bool, nesterov) = false;
  EMBER_ARG(bool, maximize) = false;
};

// Throws what SGDOptions::check throws.
inline void check_sgd_options(const SGDOptions& options) { options.check(); }

// Written from public tensor ops, like the other optimizers. Where a parameter's backend offers a
// fused SGD kernel (the CUDA backend updates a whole group in one launch), step() hands it that
// device's parameters instead; the CPU has none, as its fused form measured no faster.
class SGD : public GroupedOptimizer<SGDOptions> {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& defaults);
  SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults);

  void step() override;
  const char* momentum_key() const override { return "momentum"; }
  double momentum(size_t group) const override { return options(group).momentum(); }
  void set_momentum(size_t group, double m) override { options(group).momentum(m); }

 protected:
  std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }
  const char* kind() const override { return "SGD"; }
};

// A group of parameters with its own options (the optimizer's defaults when none are given).
using SGDParamGroup = SGD::ParamGroup;

}  // namespace ember::optim
