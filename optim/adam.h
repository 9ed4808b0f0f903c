#pragma once
// Adam and AdamW with PyTorch's update rules (torch.optim.Adam / AdamW, 1.13's single-tensor form),
// per parameter p with gradient g, at step t (counted per parameter from 1):
//   g = maximize ? -g : g
//   Adam:  g = g + weight_decay * p   (when weight_decay != 0; L2 folded into the gradient)
//   AdamW: p = p * (1 - lr * weight_decay)   (decoupled decay, before the moments)
//   exp_avg    = beta1 * exp_avg    + (1 - beta1) * g
//   exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g
//   amsgrad: max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq), used below instead of exp_avg_sq
//   p = p - lr / (1 - beta1^t) * exp_avg / (sqrt(exp_avg_sq) / sqrt(1 - beta2^t) + eps)
// State per parameter, PyTorch's names: "step" (a 0-dim float32 tensor on the CPU, as PyTorch keeps
// it), "exp_avg", "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq". Per group: lr, betas, eps,
// weight_decay, amsgrad, maximize. Why "step" matters: the bias corrections 1 - beta^t depend on
// it, so a resumed run that restarted it at 0 would take bigger early steps than the run it continues.
#include <utility>

#include "ember/core/options.h"
#include "ember/optim/grouped.h"

namespace ember::optim {

struct AdamOptions {
  using Betas = std::pair<double, double>;
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, so Adam(params, 0.01) reads well
  // "Invalid learning rate: -0.1", "Invalid epsilon value: ...", "Invalid beta parameter at index 0: 1",
  // "Invalid weight_decay value: ..." (PyTorch's messages).
  void check() const;
  Value::Dict to_dict() const;
  void read(const Optimizer::GroupReader& r);
  EMBER_ARG(double, lr);
  EMBER_ARG(Betas, betas) = {0.9, 0.999};
  EMBER_ARG(double, eps) = 1e-8;
  EMBER_ARG(double, weight_decay) = 0;
  EMBER_ARG(bool, amsgrad) = false;
  EMBER_ARG(bool, maximize) = false;
};

// The same options with AdamW's default weight_decay of 0.01 (AdamW's constructors default to these;
// a setter returns AdamOptions&, which AdamW takes as well).
struct AdamWOptions : AdamOptions {
  AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay(1e-2); }  // NOLINT
};

class Adam : public GroupedOptimizer<AdamOptions> {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& defaults = {});
  Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults = {});
  void step() override;
  // OneCycleLR cycles beta1.
  const char* momentum_key() const override { return "betas"; }
  double momentum(size_t group) const override { return options(group).betas().first; }
  void set_momentum(size_t group, double m) override { options(group).betas({m, options(group).betas().second}); }

 protected:
  Adam(const AdamOptions& defaults, bool decoupled) : GroupedOptimizer(defaults), decoupled_(decoupled) {}
  std::vector<std::string> state_names() const override {
    return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  }
  std::vector<std::string> required_state(size_t g, const Value& group) const override;
  std::vector<std::string> nonnegative_state() const override { return {"exp_avg_sq", "max_exp_avg_sq"}; }
  const char* kind() const override { return "Adam"; }

 private:
  bool decoupled_ = false;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamOptions& defaults = AdamWOptions());
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& defaults = AdamWOptions());

 protected:
  const char* kind() const override { return "AdamW"; }
};

}  // namespace ember::optim
