// Elementwise math and activations beyond the basic arithmetic: pow, abs, sqrt, clamp, maximum,
// minimum, where, comparisons, sigmoid, tanh, softmax/log_softmax along any dim, leaky_relu, gelu.
#include <cmath>
#include <limits>

#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;

namespace {
Tensor math_op(MathOp op, const Tensor& x) {
  const char* name = math_op_name(op);
  check_float(x, name, "the input");
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  backend(x.device()).math(op, x, y);
  return record(name, y, {x}, [op, xd = x.detach()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = empty(xd.shape(), xd.dtype(), xd.device());
    backend(g.device()).math_backward(op, g, xd, gx);
    return {gx};
  });
}

// Checks a and b for an op that needs one shared dtype and device; returns the broadcast shape.
Shape check_pair(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.defined() && b.defined(), op, ": an operand is undefined");
  check_same(a, b, op, "the first operand", "the second operand");
  return broadcast_shapes(a.shape(), b.shape(), op);
}

Tensor binary_ext(BinaryExtOp op, const Tensor& a, const Tensor& b, DType out_dtype) {
  Shape s = check_pair(a, b, binary_ext_name(op));
  Tensor out = empty(s, out_dtype, a.device());
  backend(a.device()).binary_ext(op, a, b, out);
  if (trace::active()) trace::note(binary_ext_name(op), {a, b}, out);
  return out;
}

// Operands of different dtypes meet in their promoted dtype, as PyTorch's: int64 == float32 compares
// in float32, float32 + float64 gives float64 (the cast keeps the gradient flowing to each side).
bool promote_pair(const Tensor& a, const Tensor& b, Tensor& pa, Tensor& pb) {
  if (!a.defined() || !b.defined() || a.dtype() == b.dtype()) return false;
  DType t = promote_types(a.dtype(), b.dtype());
  pa = a.to(t);
  pb = b.to(t);
  return true;
}

Tensor compare(BinaryExtOp op, const Tensor& a, const Tensor& b) {
  Tensor pa, pb;
  if (promote_pair(a, b, pa, pb)) return binary_ext(op, pa, pb, kBool);
  return binary_ext(op, a, b, kBool);
}
Tensor compare(BinaryExtOp op, const Tensor& a, double s) {
  a.check_defined(binary_ext_name(op));
  // An integer tensor against a fractional scalar compares in float64, as PyTorch's promotion does.
  bool frac = !is_floating(a.dtype()) && s != std::floor(s);
  Tensor x = frac ? a.to(kFloat64) : a;
  return binary_ext(op, x, scalar_tensor(s, x.dtype(), x.device()), kBool);
}

Tensor zeros_scalar(const Tensor& like) { return scalar_tensor(0.0, like.dtype(), like.device()); }
}  // namespace

Tensor abs(const Tensor& x) { return math_op(MathOp::Abs, x); }
// Through MathOp::Sqrt, not UnaryOp::Sqrt: the CUDA backend's unary kernel has no Sqrt case, so a
// backend without the general kernels refuses here instead of returning garbage.
Tensor sqrt(const Tensor& x) { return math_op(MathOp::Sqrt, x); }
Tensor sigmoid(const Tensor& x) { return math_op(MathOp::Sigmoid, x); }
Tensor tanh(const Tensor& x) { return math_op(MathOp::Tanh, x); }
Tensor softplus(const Tensor& x) { return math_op(MathOp::Softplus, x); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh",
              "gelu: expected approximate to be 'none' or 'tanh', found '", approximate, "'");
  return math_op(approximate == "tanh" ? MathOp::GeluTanh : MathOp::Gelu, x);
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  check_float(x, "leaky_relu", "the input");
  Tensor y = where(gt(x, 0.0), x, mul(x, negative_slope));
  if (trace::active()) trace::op("leaky_relu", {x}, y, {trace::Attr::fl("alpha", negative_slope)});
  return y;
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare(BinaryExtOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(BinaryExtOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(BinaryExtOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(BinaryExtOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(BinaryExtOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(BinaryExtOp::Ge, a, b); }
Tensor eq(const Tensor& a, double s) { return compare(BinaryExtOp::Eq, a, s); }
Tensor ne(const Tensor& a, double s) { return compare(BinaryExtOp::Ne, a, s); }
Tensor lt(const Tensor& a, double s) { return compare(BinaryExtOp::Lt, a, s); }
Tensor le(const Tensor& a, double s) { return compare(BinaryExtOp::Le, a, s); }
Tensor gt(const Tensor& a, double s) { return compare(BinaryExtOp::Gt, a, s); }
Tensor ge(const Tensor& a, double s) { return compare(BinaryExtOp::Ge, a, s); }

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(cond.defined(), "where: the condition is undefined");
  Tensor pa, pb;
  if (promote_pair(a, b, pa, pb)) return where(cond, pa, pb);
  EMBER_CHECK(cond.dtype() == kBool, "where: expected a bool condition, found ", dtype_name(cond.dtype()));
  Shape s = broadcast_shapes(cond.shape(), check_pair(a, b, "where"), "where");
  EMBER_CHECK(cond.device() == a.device(), "where: the condition is on ", cond.device().str(),
              " but the operands on ", a.device().str());
  Tensor out = empty(s, a.dtype(), a.device());
  backend(a.device()).where(cond, a, b, out);
  if (trace::active()) trace::op("where", {cond, a, b}, out);
  if (!is_floating(a.dtype())) return out;
  Shape sa = a.shape(), sb = b.shape();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("where", out, {a, b}, [=, c = cond.detach()](const Tensor& g) -> std::vector<Tensor> {
    Tensor z = zeros_scalar(g), ga, gb;
    if (need_a) ga = sum_to(where(c, g, z), sa);
    if (need_b) gb = sum_to(where(c, z, g), sb);
    return {ga, gb};
  });
}
Tensor where(const Tensor& cond, const Tensor& a, double b) {
  return where(cond, a, scalar_tensor(b, a.dtype(), a.device()));
}
Tensor where(const Tensor& cond, double a, const Tensor& b) {
  return where(cond, scalar_tensor(a, b.dtype(), b.device()), b);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor pa, pb;
  if (promote_pair(a, b, pa, pb)) return maximum(pa, pb);
  Tensor out = binary_ext(BinaryExtOp::Maximum, a, b, a.dtype());
  if (!is_floating(a.dtype())) return out;
  Tensor da = a.detach(), db = b.detach();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  // As PyTorch: the larger input takes the gradient; a tie splits it in halves.
  return record("maximum", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor half = mul(g, 0.5), z = zeros_scalar(g), ga, gb;
    if (need_a) ga = sum_to(where(gt(da, db), g, where(eq(da, db), half, z)), da.shape());
    if (need_b) gb = sum_to(where(lt(da, db), g, where(eq(da, db), half, z)), db.shape());
    return {ga, gb};
  });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor pa, pb;
  if (promote_pair(a, b, pa, pb)) return minimum(pa, pb);
  Tensor out = binary_ext(BinaryExtOp::Minimum, a, b, a.dtype());
  if (!is_floating(a.dtype())) return out;
  Tensor da = a.detach(), db = b.detach();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("minimum", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor half = mul(g, 0.5), z = zeros_scalar(g), ga, gb;
    if (need_a) ga = sum_to(where(lt(da, db), g, where(eq(da, db), half, z)), da.shape());
    if (need_b) gb = sum_to(where(gt(da, db), g, where(eq(da, db), half, z)), db.shape());
    return {ga, gb};
  });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor pa, pb;
  if (promote_pair(a, b, pa, pb)) return pow(pa, pb);
  Tensor out = binary_ext(BinaryExtOp::Pow, a, b, a.dtype());
  if (!is_floating(a.dtype())) return out;
  Tensor da = a.detach(), db = b.detach(), y = out.detach();
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("pow", out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor ga, gb;
    // d/da = b * a^(b-1), zero where b == 0 (as PyTorch, even at a == 0)
    if (need_a) ga = sum_to(where(eq(db, 0.0), 0.0, mul(g, mul(db, pow(da, sub(db, 1.0))))), da.shape());
    // d/db = a^b * log(a), zero where a == 0 and b >= 0
    if (need_b) gb = sum_to(where(eq(da, 0.0), 0.0, mul(g, mul(y, log(da)))), db.shape());
    return {ga, gb};
  });
}

Tensor pow(const Tensor& a, double exponent) {
  a.check_defined("pow");
  if (is_floating(a.dtype()))
    return pow(a, scalar_tensor(exponent, a.dtype(), a.device()));
  EMBER_CHECK(exponent == std::floor(exponent) && a.dtype() != kBool,
              "pow: expected an integral exponent for a ", dtype_name(a.dtype()), " tensor, found ", exponent);
  return binary_ext(BinaryExtOp::Pow, a, scalar_tensor(exponent, a.dtype(), a.device()), a.dtype());
}

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  check_float(x, "clamp", "the input");
  EMBER_CHECK(min || max, "clamp: at least one of min and max must be given");
  double lo = min ? *min : -std::numeric_limits<double>::infinity();
  double hi = max ? *max : std::numeric_limits<double>::infinity();
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  backend(x.device()).clamp(x, lo, hi, y);
  if (trace::active()) trace::op("clamp", {x}, y, {trace::Attr::fl("min", lo), trace::Attr::fl("max", hi)});
  // The gradient passes where lo <= x <= hi, as PyTorch's.
  return record("clamp", y, {x}, [lo, hi, xd = x.detach()](const Tensor& g) -> std::vector<Tensor> {
    Tensor z = zeros_scalar(g);
    return {where(ge(xd, lo), where(le(xd, hi), g, z), z)};
  });
}

// ---- softmax family ----
namespace {
// x: (N, K) -> log_softmax along dim 1, through the backend's kernels.
Tensor log_softmax_rows(const Tensor& x) {
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  backend(x.device()).log_softmax_forward(x, y);
  return record("log_softmax", y, {x}, [y = y.detach()](const Tensor& gy) -> std::vector<Tensor> {
    Tensor gx = empty(y.shape(), y.dtype(), y.device());
    backend(y.device()).log_softmax_backward(gy, y, gx);
    return {gx};
  });
}
}  // namespace

Tensor log_softmax(const Tensor& x, int64_t dim) {
  check_float(x, "log_softmax", "the input");
  int64_t d = wrap_dim(dim, x.dim(), "log_softmax");
  if (x.dim() == 0) return mul(x, 0.0);  // log_softmax of one value is 0, gradient 0
  if (x.numel() == 0) return x.reshape(x.shape());
  int64_t last = x.dim() - 1;
  Tensor moved = d == last ? x : transpose(x, d, last);
  Tensor y = log_softmax_rows(moved.reshape({-1, moved.size(last)})).reshape(moved.shape());
  y = d == last ? y : transpose(y, d, last);
  if (trace::active()) trace::op("log_softmax", {x}, y, {trace::Attr::i("axis", d)});
  return y;
}

Tensor softmax(const Tensor& x, int64_t dim) {
  check_float(x, "softmax", "the input");
  int64_t d = wrap_dim(dim, x.dim(), "softmax");
  Tensor y = exp(log_softmax(x, dim));
  if (trace::active()) trace::op("softmax", {x}, y, {trace::Attr::i("axis", d)});
  return y;
}

}  // namespace ember
