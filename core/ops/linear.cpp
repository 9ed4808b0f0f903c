// matmul and linear through the backend's gemm.
#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;

// a: (n, k), b: (k, m) -> (n, m)
Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float(a, "matmul", "the first operand");
  check_float(b, "matmul", "the second operand");
  check_same(a, b, "matmul", "the first operand", "the second operand");
  EMBER_CHECK(a.dim() == 2 && b.dim() == 2, "matmul: expected two 2-D tensors, found ", shape_str(a.shape()), " and ",
              shape_str(b.shape()));
  EMBER_CHECK(a.size(1) == b.size(0), "matmul: shapes ", shape_str(a.shape()), " and ", shape_str(b.shape()),
              " cannot be multiplied (", a.size(1), " != ", b.size(0), ")");
  Tensor out = empty({a.size(0), b.size(1)}, a.dtype(), a.device());
  backend(a.device()).gemm(false, false, 1.0, a, b, 0.0, out);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  Tensor da = a.detach(), db = b.detach();
  return record("matmul", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor ga, gb;
    if (need_a) {
      ga = empty(da.shape(), g.dtype(), g.device());
      backend(g.device()).gemm(false, true, 1.0, g, db, 0.0, ga);  // g @ b^T
    }
    if (need_b) {
      gb = empty(db.shape(), g.dtype(), g.device());
      backend(g.device()).gemm(true, false, 1.0, da, g, 0.0, gb);  // a^T @ g
    }
    return {ga, gb};
  });
}

// x: (N, in), weight: (out, in), bias: (out) -> y: (N, out) = x @ weight^T + bias
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_float(x, "linear", "the input");
  check_float(weight, "linear", "weight");
  check_same(x, weight, "linear", "the input", "weight");
  EMBER_CHECK(weight.dim() == 2, "linear: expected a 2-D weight (out_features, in_features), found ",
              shape_str(weight.shape()));
  EMBER_CHECK(x.dim() == 2, "linear: expected a 2-D input (batch, ", weight.size(1), "), found ",
              shape_str(x.shape()));
  EMBER_CHECK(x.size(1) == weight.size(1), "linear: input of shape ", shape_str(x.shape()), " does not match weight ",
              shape_str(weight.shape()), " (expected ", weight.size(1), " input features, found ", x.size(1), ")");
  if (bias.defined()) {
    check_float(bias, "linear", "bias");
    check_same(x, bias, "linear", "the input", "bias");
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear: expected bias of shape [",
                weight.size(0), "], found ", shape_str(bias.shape()));
  }
  Backend& be = backend(x.device());
  Tensor y = empty({x.size(0), weight.size(0)}, x.dtype(), x.device());
  double beta = 0.0;
  if (bias.defined()) {
    be.fill(y, 0.0);
    be.binary(BinaryOp::Add, y, bias, y);  // every row starts as the bias
    beta = 1.0;
  }
  be.gemm(false, true, 1.0, x, weight, beta, y);
  bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.defined() && bias.requires_grad();
  Tensor dx = x.detach(), dw = weight.detach();
  return record("linear", y, {x, weight, bias}, [=](const Tensor& g) -> std::vector<Tensor> {
    Backend& b = backend(g.device());
    Tensor gx, gw, gb;
    if (need_x) {
      gx = empty(dx.shape(), g.dtype(), g.device());
      b.gemm(false, false, 1.0, g, dw, 0.0, gx);  // (N, out) @ (out, in)
    }
    if (need_w) {
      gw = empty(dw.shape(), g.dtype(), g.device());
      b.gemm(true, false, 1.0, g, dx, 0.0, gw);  // (out, N) @ (N, in)
    }
    if (need_b) {
      gb = empty({g.size(1)}, g.dtype(), g.device());
      b.sum_dim(g, 0, gb);
    }
    return {gx, gw, gb};
  });
}

}  // namespace ember
