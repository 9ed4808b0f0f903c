#pragma once
// Learning-rate schedulers, as torch.optim.lr_scheduler: construct after the optimizer (which takes
// the first, epoch-0 step), call step() once per epoch (or per batch, for OneCycleLR) after the
// optimizer's steps. A scheduler keeps a reference to its optimizer, which must outlive it.
// Each computes PyTorch's rates the way PyTorch does (its "chainable" forms, from the optimizer's
// current rates, in the same double arithmetic), so the sequences match to the last bit, and its
// state dict has PyTorch's keys (less "verbose" and PyTorch's internal flags), so a loaded one
// resumes exactly. The first scheduler built on an optimizer records each group's starting rate as
// the optimizer's initial_lr; every scheduler's base rates are those (as PyTorch's).
#include <memory>
#include <string>
#include <vector>

#include "ember/core/options.h"
#include "ember/core/value.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

class SequentialLR;

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one epoch and writes the new rates into the optimizer's groups.
  virtual void step();
  // The rates set by the last step(), one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  // This scheduler's keys (PyTorch's names), then "base_lrs", "last_epoch", "_step_count", "_last_lr".
  virtual Value state_dict() const;
  // Restores the schedule (not the optimizer's rates: those come with the optimizer's state dict).
  // Everything is checked before anything changes; errors name the key, what was expected and found.
  virtual void load_state_dict(const Value& state_dict);

 protected:
  friend class SequentialLR;
  // Reads the groups' initial rates as the base rates (setting them first where unset); the subclass
  // constructor then calls step().
  explicit LRScheduler(Optimizer& optimizer);
  // The rates for last_epoch_, from the optimizer's current ones (PyTorch's chainable form).
  virtual std::vector<double> get_lr() = 0;
  // The rates for last_epoch_ from the base rates alone (PyTorch's _get_closed_form_lr, which
  // SequentialLR's step(0) at a milestone uses); get_lr() where PyTorch has none.
  virtual std::vector<double> closed_form_lr() { return get_lr(); }
  // PyTorch's step(epoch): jumps to `epoch` with the closed form.
  void step_to(int64_t epoch);
  // The subclass's keys in a state dict (checked, then applied, by load_state_dict).
  virtual void own_state(Value::Dict& out) const {}
  virtual void check_own_state(const Value& sd) const {}
  virtual void load_own_state(const Value& sd) {}
  // The whole state dict: checked (throws, changing nothing), then applied.
  virtual void check_state(const Value& sd) const;
  virtual void apply_state(const Value& sd);
  virtual const char* kind() const = 0;
  std::string where() const { return std::string(kind()) + ".load_state_dict: "; }
  void apply(std::vector<double> lrs);

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
};

// Multiplies every group's rate by gamma every step_size epochs: lr = base_lr * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  int64_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  void own_state(Value::Dict& out) const override;
  void check_own_state(const Value& sd) const override;
  void load_own_state(const Value& sd) override;
  const char* kind() const override { return "StepLR"; }

 private:
  int64_t step_size_;
  double gamma_;
};

// Multiplies the rate by gamma at each milestone epoch (by gamma^k for a milestone listed k times).
// State: "milestones" as a dict {epoch: count} (PyTorch's Counter; written to .pth with int keys).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  void own_state(Value::Dict& out) const override;
  void check_own_state(const Value& sd) const override;
  void load_own_state(const Value& sd) override;
  const char* kind() const override { return "MultiStepLR"; }

 private:
  std::vector<int64_t> milestones_;  // sorted, with repeats
  double gamma_;
};

// Multiplies the rate by gamma every epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  void own_state(Value::Dict& out) const override;
  void check_own_state(const Value& sd) const override;
  void load_own_state(const Value& sd) override;
  const char* kind() const override { return "ExponentialLR"; }

 private:
  double gamma_;
};

// Cosine from the base rate down to eta_min over T_max epochs (and back up over the next T_max, as
// PyTorch's recursive form does): lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  void own_state(Value::Dict& out) const override;
  void check_own_state(const Value& sd) const override;
  void load_own_state(const Value& sd) override;
  const char* kind() const override { return "CosineAnnealingLR"; }

 private:
  int64_t T_max_;
  double eta_min_;
};

// Scales the rate linearly from start_factor to end_factor over total_iters epochs (a warm-up when
// start_factor < 1), then keeps it.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  std::vector<double> get_lr() override;
  std::vector<double> closed_form_lr() override;
  void own_state(Value::Dict& out) const override;
  void check_own_state(const Value& sd) const override;
  void load_own_state(const Value& sd) override;
  const char* kind() const override { return "LinearLR"; }

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

struct OneCycleLROptions {
  // max_lr: one rate for every group, or one per group.
  OneCycleLROptions(std::vector<double> max_lr, int64_t total_steps) : max_lr_(std::move(max_lr)), total_steps_(total_steps) {}
  OneCycleLROptions(double max_lr, int64_t total_steps) : OneCycleLROptions(std::vector<double>{max_lr}, total_steps) {}
  EMBER_ARG(std::vector<double>, max_lr);
  EMBER_ARG(int64_t, total_steps);
  EMBER_ARG(double, pct_start) = 0.3;
  EMBER_ARG(std::string, anneal_strategy) = "cos";  // or "linear"
  EMBER_ARG(bool, cycle_momentum) = true;
  EMBER_ARG(double, base_momentum) = 0.85;
  EMBER_ARG(double, max_momentum) = 0.95;
  EMBER_ARG(double, div_factor) = 25;
  EMBER_ARG(double, final_div_factor) = 1e4;
  EMBER_ARG(bool, three_phase) = false;
};

// The 1cycle policy, stepped once per batch: the rate rises from max_lr / div_factor to max_lr over
// pct_start of total_steps, then anneals to max_lr / div_factor / final_div_factor; with
// cycle_momentum the optimizer's momentum (SGD, RMSprop) or beta1 (Adam, AdamW) moves the other way,
// between max_momentum and base_momentum. Stepping past total_steps throws, as PyTorch.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& options);
  int64_t total_steps() const { return total_steps_; }

 protected:
  std::vector<double> get_lr() override;
  void own_state(Value::Dict& out) const override;
  void check_own_state(const Value& sd) const override;
  void load_own_state(const Value& sd) override;
  const char* kind() const override { return "OneCycleLR"; }

 private:
  struct Phase {
    double end_step;
    bool end_step_is_int;  // PyTorch writes the last phase's end as an int
    std::string start_lr, end_lr, start_momentum, end_momentum;
  };
  double group_value(size_t g, const std::string& name) const;
  double anneal(double start, double end, double pct) const;
  std::vector<Phase> parse_phases(const Value& v) const;

  int64_t total_steps_;
  std::vector<Phase> phases_;
  bool cos_ = true;
  bool cycle_momentum_;
  bool use_beta1_ = false;
  std::vector<double> max_lr_, min_lr_, max_momentum_, base_momentum_;  // per group
};

// Runs schedulers one after another: the first until milestones[0], the next from there (restarted
// at its epoch 0), and so on. The schedulers must be built on the same optimizer, before this one.
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<int64_t> milestones);
  void step() override;
  // {"_milestones", "last_epoch", "_last_lr", "_schedulers": [each one's state dict]}, PyTorch's layout.
  Value state_dict() const override;

 protected:
  void check_state(const Value& sd) const override;
  void apply_state(const Value& sd) override;
  std::vector<double> get_lr() override { return last_lr_; }
  const char* kind() const override { return "SequentialLR"; }

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<int64_t> milestones_;
};

}  // namespace ember::optim
