// log_softmax, nll_loss and cross_entropy over (N, K) rows, with their backward.
#include "ember/core/backend.h"
#include "ember/core/ops.h"

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

Tensor log_softmax(const Tensor& x, int64_t dim) {
  check_rows(x, "log_softmax", "an input");
  EMBER_CHECK(dim == 1 || dim == -1, "log_softmax: only dim 1 (the last dim of a 2-D input) is supported, found dim ",
              dim);
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  backend(x.device()).log_softmax_forward(x, y);
  return record("log_softmax", y, {x}, [y = y.detach()](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = empty(y.shape(), y.dtype(), y.device());
    backend(y.device()).log_softmax_backward(gy, y, gx);
    return {gx};
  });
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target) {
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

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
  check_rows(logits, "cross_entropy", "logits");
  check_target(logits, target, "cross_entropy");
  return nll_loss(log_softmax(logits, 1), target);
}

}  // namespace ember
