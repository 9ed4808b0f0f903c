// batch_norm and dropout: the public ops and their backward, over the backend kernels.
#include <algorithm>

#include "ember/core/ops/common.h"

namespace ember {
namespace {

// weight, bias and running stats: one value per channel, same dtype and device as x.
void check_per_channel(const Tensor& t, const char* what, const Tensor& x) {
  if (!t.defined()) return;
  const int64_t C = x.size(1);
  EMBER_CHECK(t.dim() == 1 && t.size(0) == C, "batch_norm: expected ", what, " of shape [", C,
              "] (one value per channel of the input ", shape_str(x.shape()), "), found ", shape_str(t.shape()));
  EMBER_CHECK(t.dtype() == x.dtype(), "batch_norm: expected ", what, " of dtype ", dtype_name(x.dtype()),
              " (the input's), found ", dtype_name(t.dtype()));
  EMBER_CHECK(t.device() == x.device(), "batch_norm: expected ", what, " on ", x.device(), " (the input's), found ",
              t.device());
}

}  // namespace

Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
  x.check_defined("batch_norm");
  EMBER_CHECK(x.dim() == 2 || x.dim() == 4, "batch_norm: expected a 2-D (N, C) or 4-D (N, C, H, W) input, found shape ",
              shape_str(x.shape()));
  EMBER_CHECK(is_floating(x.dtype()), "batch_norm: expected a float32 or float64 input, found ",
              dtype_name(x.dtype()));
  EMBER_CHECK(running_mean.defined() == running_var.defined(),
              "batch_norm: running_mean and running_var must both be given or both be undefined");
  EMBER_CHECK(training || running_mean.defined(),
              "batch_norm: running_mean and running_var must be defined in eval mode (training=false)");
  check_per_channel(weight, "weight", x);
  check_per_channel(bias, "bias", x);
  check_per_channel(running_mean, "running_mean", x);
  check_per_channel(running_var, "running_var", x);
  EMBER_CHECK(!training || x.numel() / std::max<int64_t>(x.size(1), 1) > 1,
              "batch_norm: expected more than 1 value per channel when training, found input of shape ",
              shape_str(x.shape()));
  EMBER_CHECK(eps >= 0.0, "batch_norm: expected eps >= 0, found ", eps);

  const int64_t C = x.size(1);
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor save_mean = empty({C}, x.dtype(), x.device());
  Tensor save_invstd = empty({C}, x.dtype(), x.device());
  backend(x.device())
      .batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps, y, save_mean,
                          save_invstd);
  if (trace::active())
    trace::op("batch_norm", {x, weight, bias, running_mean, running_var}, y,
              {trace::Attr::fl("epsilon", eps), trace::Attr::i("training", training)});

  const bool need_x = x.requires_grad();
  const bool need_w = weight.defined() && weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  return record("batch_norm", y, {x, weight, bias},
                [x = x.detach(), w = weight.defined() ? weight.detach() : Tensor(), save_mean, save_invstd, training,
                 need_x, need_w, need_b](const Tensor& gy) -> std::vector<Tensor> {
                  const int64_t C = x.size(1);
                  Tensor gx = need_x ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
                  Tensor gw = need_w ? empty({C}, x.dtype(), x.device()) : Tensor();
                  Tensor gb = need_b ? empty({C}, x.dtype(), x.device()) : Tensor();
                  backend(x.device())
                      .batch_norm_backward(gy, x, w, save_mean, save_invstd, training, gx, gw, gb);
                  return {gx, gw, gb};
                });
}

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  x.check_defined("dropout");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0.0) return x;
  EMBER_CHECK(is_floating(x.dtype()), "dropout: expected a float32 or float64 input, found ", dtype_name(x.dtype()));

  Backend& be = backend(x.device());
  Tensor mask = empty(x.shape(), x.dtype(), x.device());
  if (p == 1.0) {
    be.fill(mask, 0.0);  // everything dropped; draws nothing, as PyTorch
  } else {
    be.dropout_mask(p, gen, mask);
  }
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  be.binary(BinaryOp::Mul, x, mask, y);
  if (trace::active()) trace::op("dropout", {x}, y, {trace::Attr::i("training", 1)});
  return record("dropout", y, {x}, [mask](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = empty(gy.shape(), gy.dtype(), gy.device());
    backend(gy.device()).binary(BinaryOp::Mul, gy, mask, gx);
    return {gx};
  });
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator& gen) {
  x.check_defined("dropout2d");
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout2d: probability has to be between 0 and 1, but got ", p);
  EMBER_CHECK(x.dim() == 3 || x.dim() == 4, "dropout2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, found ",
              shape_str(x.shape()));
  if (!training || p == 0.0) return x;
  EMBER_CHECK(is_floating(x.dtype()), "dropout2d: expected a float32 or float64 input, found ",
              dtype_name(x.dtype()));
  // One draw per (n, c) plane, broadcast over H and W.
  Shape plane_shape(x.shape().begin(), x.shape().end() - 2);
  plane_shape.insert(plane_shape.end(), {1, 1});
  Tensor mask = empty(plane_shape, x.dtype(), x.device());
  if (p == 1.0) backend(x.device()).fill(mask, 0.0);
  else backend(x.device()).dropout_mask(p, gen, mask);
  Tensor y = mul(x, mask);
  if (trace::active()) trace::op("dropout2d", {x}, y, {trace::Attr::i("training", 1)});
  return y;
}

}  // namespace ember
