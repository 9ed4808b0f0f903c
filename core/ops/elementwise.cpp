// Elementwise ops and relu, each with its backward beside it.
#include <cmath>

#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;

namespace {
// Integer operands (same dtype): add, sub and mul exact, without autograd; div in float32.
Tensor integer_binary(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dtype() != kBool && b.dtype() != kBool, name, ": arithmetic on bool tensors is not supported");
  check_same(a, b, name, "the first operand", "the second operand");
  if (op == BinaryOp::Div) return div(a.to(kFloat32), b.to(kFloat32));
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), a.device());
  BinaryExtOp ext = op == BinaryOp::Add ? BinaryExtOp::Add : op == BinaryOp::Sub ? BinaryExtOp::Sub : BinaryExtOp::Mul;
  backend(a.device()).binary_ext(ext, a, b, out);
  if (trace::active()) trace::note(name, {a, b}, out);
  return out;
}

Tensor binary_op(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  if (a.defined() && b.defined() && a.dtype() != b.dtype()) {  // promoted, as PyTorch
    DType t = promote_types(a.dtype(), b.dtype());
    return binary_op(name, op, a.to(t), b.to(t));
  }
  if (a.defined() && b.defined() && !is_floating(a.dtype()) && !is_floating(b.dtype()))
    return integer_binary(name, op, a, b);
  check_float(a, name, "the first operand");
  check_float(b, name, "the second operand");
  check_same(a, b, name, "the first operand", "the second operand");
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), a.device());
  backend(a.device()).binary(op, a, b, out);
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  Shape sa = a.shape(), sb = b.shape();
  Tensor da = a.detach(), db = b.detach();
  return record(name, out, {a, b}, [=](const Tensor& g) -> std::vector<Tensor> {
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::Add:
        if (need_a) ga = sum_to(g, sa);
        if (need_b) gb = sum_to(g, sb);
        break;
      case BinaryOp::Sub:
        if (need_a) ga = sum_to(g, sa);
        if (need_b) gb = neg(sum_to(g, sb));
        break;
      case BinaryOp::Mul:
        if (need_a) ga = sum_to(mul(g, db), sa);
        if (need_b) gb = sum_to(mul(g, da), sb);
        break;
      case BinaryOp::Div:
        if (need_a) ga = sum_to(div(g, db), sa);
        if (need_b) gb = sum_to(neg(div(mul(g, da), mul(db, db))), sb);
        break;
    }
    return {ga, gb};
  });
}

Tensor scalar_op(const char* name, BinaryOp op, const Tensor& a, double s, bool scalar_first) {
  if (a.defined() && !is_floating(a.dtype())) {
    EMBER_CHECK(a.dtype() != kBool, name, ": arithmetic on bool tensors is not supported");
    // An integral scalar keeps integer arithmetic exact; otherwise compute in float32, as PyTorch.
    if (op == BinaryOp::Div || s != std::floor(s)) return scalar_op(name, op, a.to(kFloat32), s, scalar_first);
    Tensor out = empty(a.shape(), a.dtype(), a.device());
    backend(a.device()).binary_scalar(op, a, s, scalar_first, out);
    return out;
  }
  check_float(a, name, "the operand");
  Tensor out = empty(a.shape(), a.dtype(), a.device());
  backend(a.device()).binary_scalar(op, a, s, scalar_first, out);
  if (trace::active())
    trace::op(name, {a}, out, {trace::Attr::fl("scalar", s), trace::Attr::i("scalar_first", scalar_first)});
  Tensor da = a.detach();
  return record(name, out, {a}, [=](const Tensor& g) -> std::vector<Tensor> {
    switch (op) {
      case BinaryOp::Add: return {g};
      case BinaryOp::Sub: return {scalar_first ? neg(g) : g};
      case BinaryOp::Mul: return {mul(g, s)};
      case BinaryOp::Div:
        if (!scalar_first) return {mul(g, 1.0 / s)};
        return {mul(div(g, mul(da, da)), -s)};  // d(s/a) = -s/a^2
    }
    return {Tensor()};
  });
}

Tensor unary_op(const char* name, UnaryOp op, const Tensor& a) {
  check_float(a, name, "the input");
  Tensor out = empty(a.shape(), a.dtype(), a.device());
  backend(a.device()).unary(op, a, out);
  return out;
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op("add", BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op("sub", BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op("mul", BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op("div", BinaryOp::Div, a, b); }
Tensor add(const Tensor& a, double s) { return scalar_op("add", BinaryOp::Add, a, s, false); }
Tensor sub(const Tensor& a, double s) { return scalar_op("sub", BinaryOp::Sub, a, s, false); }
Tensor mul(const Tensor& a, double s) { return scalar_op("mul", BinaryOp::Mul, a, s, false); }
Tensor div(const Tensor& a, double s) { return scalar_op("div", BinaryOp::Div, a, s, false); }
Tensor rsub(double s, const Tensor& a) { return scalar_op("rsub", BinaryOp::Sub, a, s, true); }
Tensor rdiv(double s, const Tensor& a) { return scalar_op("rdiv", BinaryOp::Div, a, s, true); }

Tensor neg(const Tensor& a) {
  Tensor out = unary_op("neg", UnaryOp::Neg, a);
  return record("neg", out, {a}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
}

Tensor exp(const Tensor& a) {
  Tensor out = unary_op("exp", UnaryOp::Exp, a);
  Tensor y = out.detach();
  return record("exp", out, {a}, [y](const Tensor& g) -> std::vector<Tensor> { return {mul(g, y)}; });
}

Tensor log(const Tensor& a) {
  Tensor out = unary_op("log", UnaryOp::Log, a);
  Tensor x = a.detach();
  return record("log", out, {a}, [x](const Tensor& g) -> std::vector<Tensor> { return {div(g, x)}; });
}

// x: any shape -> same shape
Tensor relu(const Tensor& x) {
  Tensor out = unary_op("relu", UnaryOp::Relu, x);
  Tensor y = out.detach();  // y > 0 exactly where x > 0
  return record("relu", out, {x}, [y](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = empty(g.shape(), g.dtype(), g.device());
    backend(g.device()).relu_backward(g, y, gx);
    return {gx};
  });
}

}  // namespace ember
