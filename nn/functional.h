#pragma once
// Stateless forms of the layers, as torch.nn.functional: the ops of core/ops.h under nn::functional
// (alias F), for a forward that needs no module: F::relu(F::max_pool2d(conv1(x), 2)).
#include "ember/core/ops.h"

namespace ember::nn::functional {

using ember::batch_norm;
using ember::conv2d;
using ember::cross_entropy;
using ember::dropout;
using ember::linear;
using ember::log_softmax;
using ember::max_pool2d;
using ember::nll_loss;
using ember::relu;

// torch.flatten: x.flatten(start_dim, end_dim); pass start_dim = 1 to keep the batch dim.
inline Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1) {
  return x.flatten(start_dim, end_dim);
}

}  // namespace ember::nn::functional

namespace ember::nn {
namespace F = functional;
}  // namespace ember::nn
