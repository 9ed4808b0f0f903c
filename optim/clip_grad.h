#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_: call between backward()
// and the optimizer's step(). Parameters without a gradient are skipped.
#include <vector>

#include "ember/core/tensor.h"

namespace ember::optim {

// Scales every gradient by min(1, max_norm / (total_norm + 1e-6)), where total_norm is the norm of
// all the gradients together (as if concatenated) of order norm_type: 2 (default), 1, any p > 0,
// 0 (the count of nonzeros) or INFINITY (the largest magnitude). Returns total_norm (0 when no
// parameter has a gradient). With error_if_nonfinite, a NaN or infinite total norm throws (PyTorch's
// message) and leaves the gradients as they were.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value] in place; values inside stay exactly
// as they were. An infinite gradient element becomes NaN here (PyTorch clamps it to the bound).
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::optim
