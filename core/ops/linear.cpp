// matmul and linear through the backend's gemm.
#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;

namespace {
// a: (n, k), b: (k, m) -> (n, m)
Tensor matmul_2d(const Tensor& a, const Tensor& b) {
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

// The shapes of matmul's operands as PyTorch prints them in its error.
std::string pair_str(const Tensor& a, const Tensor& b) { return shape_str(a.shape()) + " and " + shape_str(b.shape()); }
}  // namespace

// a: (B, n, k), b: (B, k, m) -> (B, n, m), one gemm per batch entry.
Tensor bmm(const Tensor& a, const Tensor& b) {
  check_float(a, "bmm", "the first operand");
  check_float(b, "bmm", "the second operand");
  check_same(a, b, "bmm", "the first operand", "the second operand");
  EMBER_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected two 3-D tensors, found ", pair_str(a, b));
  EMBER_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm: shapes ", pair_str(a, b),
              " cannot be multiplied (expected (B, n, k) and (B, k, m))");
  int64_t B = a.size(0);
  Tensor out = empty({B, a.size(1), b.size(2)}, a.dtype(), a.device());
  Tensor da = a.detach(), db = b.detach();
  Backend& be = backend(a.device());
  if (a.size(2) == 0) be.fill(out, 0.0);
  else
    for (int64_t i = 0; i < B; ++i) {
      Tensor oi = out[i];
      be.gemm(false, false, 1.0, da[i], db[i], 0.0, oi);
    }
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("bmm", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Backend& bg = backend(g.device());
    Tensor ga, gb;
    if (need_a) ga = zeros(da.shape(), g.dtype(), g.device());
    if (need_b) gb = zeros(db.shape(), g.dtype(), g.device());
    for (int64_t i = 0; i < B && g.size(1) * g.size(2) > 0; ++i) {
      if (need_a) {
        Tensor gi = ga[i];
        bg.gemm(false, true, 1.0, g[i], db[i], 0.0, gi);  // g @ b^T
      }
      if (need_b) {
        Tensor gi = gb[i];
        bg.gemm(true, false, 1.0, da[i], g[i], 0.0, gi);  // a^T @ g
      }
    }
    return {ga, gb};
  });
}

// numpy's matmul: 1-D operands gain (and then lose) a dim; batch dims broadcast.
namespace {
Tensor matmul_nd(const Tensor& a, const Tensor& b) {
  check_float(a, "matmul", "the first operand");
  check_float(b, "matmul", "the second operand");
  check_same(a, b, "matmul", "the first operand", "the second operand");
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dimension, found ",
              pair_str(a, b));
  Tensor a2 = a.dim() == 1 ? a.unsqueeze(0) : a;
  Tensor b2 = b.dim() == 1 ? b.unsqueeze(1) : b;
  int64_t n = a2.size(-2), k = a2.size(-1), m = b2.size(-1);
  EMBER_CHECK(k == b2.size(-2), "matmul: shapes ", pair_str(a, b), " cannot be multiplied (", k,
              " != ", b2.size(-2), ")");
  Tensor out;
  if (a2.dim() == 2 && b2.dim() == 2) {
    out = matmul_2d(a2, b2);
  } else if (b2.dim() == 2) {  // (..., n, k) @ (k, m): one gemm over all rows
    Shape s(a2.shape().begin(), a2.shape().end() - 1);
    s.push_back(m);
    out = matmul_2d(a2.reshape({a2.numel() == 0 ? shape_numel(s) / std::max<int64_t>(m, 1) : a2.numel() / k, k}), b2)
              .reshape(s);
  } else {
    Shape ba(a2.shape().begin(), a2.shape().end() - 2), bb(b2.shape().begin(), b2.shape().end() - 2);
    Shape batch = broadcast_shapes(ba, bb, "matmul");
    Shape sa = batch, sb = batch, so = batch;
    sa.insert(sa.end(), {n, k});
    sb.insert(sb.end(), {k, m});
    so.insert(so.end(), {n, m});
    int64_t B = shape_numel(batch);  // explicit: -1 cannot be inferred when a size is 0
    out = bmm(expand(a2, sa).reshape({B, n, k}), expand(b2, sb).reshape({B, k, m})).reshape(so);
  }
  if (a.dim() == 1) out = out.squeeze(-2);
  if (b.dim() == 1) out = out.squeeze(-1);
  return out;
}
}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor out = matmul_nd(a, b);
  if (trace::active()) trace::op("matmul", {a, b}, out);
  return out;
}

// x: (*, in), weight: (out, in), bias: (out) -> y: (*, out) = x @ weight^T + bias
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_float(x, "linear", "the input");
  check_float(weight, "linear", "weight");
  check_same(x, weight, "linear", "the input", "weight");
  EMBER_CHECK(weight.dim() == 2, "linear: expected a 2-D weight (out_features, in_features), found ",
              shape_str(weight.shape()));
  EMBER_CHECK(x.dim() >= 1, "linear: expected an input of shape (*, ", weight.size(1), "), found a 0-d tensor");
  if (x.dim() != 2) {  // (*, in) -> (*, out) through the 2-D form
    Shape s = x.shape();
    s.back() = weight.size(0);
    EMBER_CHECK(x.size(-1) == weight.size(1), "linear: input of shape ", shape_str(x.shape()),
                " does not match weight ", shape_str(weight.shape()), " (expected ", weight.size(1),
                " input features, found ", x.size(-1), ")");
    return linear(x.reshape({-1, weight.size(1)}), weight, bias).reshape(s);
  }
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
