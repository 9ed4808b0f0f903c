#pragma once
// RMSprop with PyTorch's update rule (torch.optim.RMSprop, 1.13's single-tensor form), per
// parameter p with gradient g (g = -g when maximize; then g = g + weight_decay * p when
// weight_decay != 0):
//   square_avg = alpha * square_avg + (1 - alpha) * g * g
//   centered:  grad_avg = alpha * grad_avg + (1 - alpha) * g;  avg = sqrt(square_avg - grad_avg^2) + eps
//   else:      avg = sqrt(square_avg) + eps
//   momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
//   else:         p = p - lr * g / avg
//   State: "step", "square_avg", and "momentum_buffer" (momentum > 0), "grad_avg" (centered).
// "step" is a 0-dim float32 tensor on the CPU (PyTorch 1.13's RMSprop keeps a Python int there;
// Ember reads either). Adagrad is in optim/adagrad.h.
#include "ember/core/options.h"
#include "ember/optim/grouped.h"

namespace ember::optim {

struct RMSpropOptions {
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT
  // PyTorch's messages: "Invalid learning rate: -1", "Invalid epsilon value", "Invalid momentum value",
  // "Invalid weight_decay value", "Invalid alpha value".
  void check() const;
  Value::Dict to_dict() const;
  void read(const Optimizer::GroupReader& r);
  EMBER_ARG(double, lr);
  EMBER_ARG(double, alpha) = 0.99;
  EMBER_ARG(double, eps) = 1e-8;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(double, momentum) = 0;
  EMBER_ARG(bool, centered) = false;
  EMBER_ARG(bool, maximize) = false;
};

class RMSprop : public GroupedOptimizer<RMSpropOptions> {
 public:
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults = {});
  RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& defaults = {});
  void step() override;
  const char* momentum_key() const override { return "momentum"; }
  double momentum(size_t group) const override { return options(group).momentum(); }
  void set_momentum(size_t group, double m) override { options(group).momentum(m); }

 protected:
  std::vector<std::string> state_names() const override {
    return {"step", "square_avg", "momentum_buffer", "grad_avg"};
  }
  std::vector<std::string> required_state(size_t g, const Value& group) const override;
  std::vector<std::string> nonnegative_state() const override { return {"square_avg"}; }
  const char* kind() const override { return "RMSprop"; }
};

}  // namespace ember::optim
