#pragma once
// Stateless forms of the layers, as torch.nn.functional: the ops of core/ops.h under nn::functional
// (alias F), for a forward that needs no module: F::relu(F::max_pool2d(conv1(x), 2)).
#include "ember/core/ops.h"

namespace ember::nn::functional {

using ember::adaptive_avg_pool2d;
using ember::avg_pool2d;
using ember::batch_norm;
using ember::binary_cross_entropy;
using ember::binary_cross_entropy_with_logits;
using ember::conv1d;
using ember::dropout2d;
using ember::embedding;
using ember::gelu;
using ember::group_norm;
using ember::l1_loss;
using ember::layer_norm;
using ember::leaky_relu;
using ember::mse_loss;
using ember::sigmoid;
using ember::softmax;
using ember::softplus;
using ember::tanh;
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
