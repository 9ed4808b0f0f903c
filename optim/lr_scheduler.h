#pragma once
// Learning-rate schedulers, as torch.optim.lr_scheduler: construct after the optimizer (which takes
// the first, epoch-0 step, leaving the rates as they are), call step() once per epoch after the
// optimizer's steps. A scheduler keeps a reference to its optimizer, which must outlive it.
#include <vector>

#include "ember/core/value.h"
#include "ember/optim/optimizer.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // Advances one epoch and writes the new rates into the optimizer's groups.
  void step();
  // The rates set by the last step(), one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  virtual Value state_dict() const;
  // Restores the schedule (not the optimizer's rates: those come with the optimizer's state dict).
  virtual void load_state_dict(const Value& state_dict);

 protected:
  // Reads the optimizer's current rates as the base rates; the subclass constructor then calls step().
  explicit LRScheduler(Optimizer& optimizer);
  // The rates for last_epoch_, computed from the optimizer's current ones (PyTorch's chainable form).
  virtual std::vector<double> get_lr() const = 0;
  const char* where() const { return "LRScheduler.load_state_dict: "; }

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
};

// Multiplies every group's rate by gamma every step_size epochs: lr = base_lr * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  int64_t step_size() const { return step_size_; }
  double gamma() const { return gamma_; }

  // {"step_size", "gamma", "base_lrs", "last_epoch", "_last_lr"}, PyTorch's names.
  Value state_dict() const override;
  void load_state_dict(const Value& state_dict) override;

 protected:
  std::vector<double> get_lr() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

}  // namespace ember::optim
