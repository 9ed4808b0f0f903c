#pragma once
// The training run that crosses between PyTorch and Ember (examples/sd_crossing.cpp, the tutorial's
// "Moving a training run between PyTorch and Ember"; tests/test_optim_crossing.cpp checks it against
// PyTorch through tests/reference/gen_optim.py). A two-layer net fc1 -> relu -> fc2 (6 -> 12 -> 3)
// learns batches that both sides compute from one formula, so no data file crosses over.
#include <cmath>
#include <memory>
#include <vector>

#include "ember/core/ops.h"
#include "ember/core/value.h"
#include "ember/optim/adam.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"

namespace ember::examples::crossing {

// The batch of training step `step`: x[i][j] = sin(1 + 0.37 step + 1.3 i + 0.71 j) (in double, then
// float32), label (5 step + 2 i) mod 3: gen_optim.py's crossing_batch, to the bit.
inline std::pair<Tensor, Tensor> batch(int64_t step, int64_t n = 8, int64_t features = 6, int64_t classes = 3) {
  std::vector<float> x;
  std::vector<int64_t> y;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < features; ++j)
      x.push_back(float(std::sin(1.0 + 0.37 * double(step) + 1.3 * double(i) + 0.71 * double(j))));
    y.push_back((5 * step + 2 * i) % classes);
  }
  return {from_vector(x, {n, features}), from_vector(y, {n})};
}

// The optimizer and scheduler a checkpoint's state dicts call for, built over `params` with the
// checkpoint's own hyper-parameters (their state comes next, from load_state_dict): Adam where the
// param groups have "betas", else SGD; CosineAnnealingLR where the scheduler has "T_max", else StepLR.
struct Training {
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> scheduler;
};

inline Training training_for(const Value& ckpt, const std::vector<Tensor>& params) {
  const Value& group = ckpt.at("optimizer_state_dict").at("param_groups").at(0);
  const Value& sched = ckpt.at("scheduler_state_dict");
  Training t;
  if (group.contains("betas"))
    t.optimizer = std::make_unique<optim::Adam>(params, group.at("lr").as_double());
  else
    t.optimizer = std::make_unique<optim::SGD>(
        params, optim::SGDOptions(group.at("lr").as_double()).momentum(group.at("momentum").as_double()));
  if (sched.contains("T_max"))
    t.scheduler = std::make_unique<optim::CosineAnnealingLR>(*t.optimizer, sched.at("T_max").as_int(),
                                                             sched.at("eta_min").as_double());
  else
    t.scheduler = std::make_unique<optim::StepLR>(*t.optimizer, sched.at("step_size").as_int(),
                                                  sched.at("gamma").as_double());
  return t;
}

}  // namespace ember::examples::crossing
