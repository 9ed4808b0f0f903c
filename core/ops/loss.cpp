// nll_loss over (N, K) rows with the mean reduction (the MNISTNet path): the fused kernel pair.
#include "ember/core/ops/common.h"

namespace ember {
namespace {

// x: a float (N, K) tensor with K >= 1; `op` names the caller.
void check_rows(const Tensor& x, const char* op, const char* what) {
  x.check_defined(op);
  EMBER_CHECK(x.dim() == 2, op, ": expected ", what, " of shape (N, K), found shape ", shape_str(x.shape()));
  EMBER_CHECK(is_floating(x.dtype()), op, ": expected ", what, " of dtype float32 or float64, found ",
              dtype_name(x.dtype()));
  EMBER_CHECK(x.size(1) >= 1, op, ": expected at least one class, found shape ", shape_str(x.shape()));
}

// target: int64 (N) on x's device.
void check_target(const Tensor& x, const Tensor& target, const char* op) {
  target.check_defined(op);
  EMBER_CHECK(target.dtype() == kInt64, op, ": expected an int64 target, found ", dtype_name(target.dtype()));
  EMBER_CHECK(target.dim() == 1 && target.size(0) == x.size(0), op, ": expected a target of shape [", x.size(0),
              "] (one class index per row of the input ", shape_str(x.shape()), "), found ",
              shape_str(target.shape()));
  EMBER_CHECK(target.device() == x.device(), op, ": expected the target on ", x.device(),
              " (the input's), found ", target.device());
}

}  // namespace

Tensor detail::nll_loss_fused(const Tensor& log_probs, const Tensor& target) {
  check_rows(log_probs, "nll_loss", "log-probabilities");
  check_target(log_probs, target, "nll_loss");
  Tensor loss = empty({}, log_probs.dtype(), log_probs.device());
  backend(log_probs.device()).nll_loss_forward(log_probs, target, loss);
  return record("nll_loss", loss, {log_probs},
                [target = target.detach(), shape = log_probs.shape(), dtype = log_probs.dtype()](
                    const Tensor& gloss) -> std::vector<Tensor> {
                  Tensor g = empty(shape, dtype, gloss.device());
                  backend(gloss.device()).nll_loss_backward(gloss, target, g);
                  return {g};
                });
}

}  // namespace ember
