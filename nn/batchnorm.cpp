#include "ember/core/autograd.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"

namespace ember::nn {

BatchNormBase::BatchNormBase(const BatchNormOptions& o, const char* kind) : options_(o) {
  EMBER_CHECK(o.num_features() > 0, kind, ": num_features must be positive, found ", o.num_features());
  EMBER_CHECK(o.eps() > 0, kind, ": eps must be positive, found ", short_float(o.eps()));
  if (o.momentum())
    EMBER_CHECK(*o.momentum() >= 0 && *o.momentum() <= 1, kind, ": momentum must be in [0, 1], found ",
                short_float(*o.momentum()));
  int64_t c = o.num_features();
  if (o.affine()) {
    weight = register_parameter("weight", empty({c}));
    bias = register_parameter("bias", empty({c}));
  }
  if (o.track_running_stats()) {
    running_mean = register_buffer("running_mean", empty({c}));
    running_var = register_buffer("running_var", empty({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  reset_parameters();
}

void BatchNormBase::reset_running_stats() {
  if (!options_.track_running_stats()) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  init::zeros_(num_batches_tracked);
}

void BatchNormBase::reset_parameters() {
  reset_running_stats();
  if (!options_.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

// As PyTorch's _BatchNorm.forward: in training with running stats, count the batch and use
// momentum, or 1 / num_batches_tracked when momentum is none; normalise with the batch's statistics
// in training, or whenever there are no running statistics.
Tensor BatchNormBase::forward(const Tensor& x) {
  x.check_defined(name().c_str());
  check_input(x);
  EMBER_CHECK(x.size(1) == options_.num_features(), name(), ": expected ", options_.num_features(),
              " channels (dim 1), found input of shape ", shape_str(x.shape()));
  bool track = options_.track_running_stats();
  double factor = options_.momentum().value_or(0.0);
  if (is_training() && track) {
    double count = num_batches_tracked.item() + 1;
    num_batches_tracked.fill_(count);
    if (!options_.momentum()) factor = 1.0 / count;
  }
  bool use_batch_stats = is_training() || !track;
  Tensor rm = track ? running_mean : Tensor(), rv = track ? running_var : Tensor();
  if (x.dim() == 3) {
    // (N, C, L) -> (N, C, L, 1): the op handles (N, C) and (N, C, H, W).
    Tensor y = batch_norm(x.unsqueeze(3), rm, rv, weight, bias, use_batch_stats, factor, options_.eps());
    return y.squeeze(3);
  }
  return batch_norm(x, rm, rv, weight, bias, use_batch_stats, factor, options_.eps());
}

std::string BatchNormBase::extra_repr() const {
  const auto& o = options_;
  return std::to_string(o.num_features()) + ", eps=" + py_float(o.eps()) +
         ", momentum=" + (o.momentum() ? py_float(*o.momentum()) : "None") +
         ", affine=" + (o.affine() ? "True" : "False") +
         ", track_running_stats=" + (o.track_running_stats() ? "True" : "False");
}

void BatchNorm1d::check_input(const Tensor& x) const {
  EMBER_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected 2D or 3D input (got ", x.dim(), "D input)");
}

void BatchNorm2d::check_input(const Tensor& x) const {
  EMBER_CHECK(x.dim() == 4, "BatchNorm2d: expected 4D input (got ", x.dim(), "D input)");
}

}  // namespace ember::nn
