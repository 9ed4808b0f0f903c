#pragma once
// The few elementwise steps the optimizers need, built from public ops, on whatever device the
// tensors live (a device without a kernel for one of them refuses, naming the op).
#include "ember/core/ops.h"
#include "ember/core/ordered_dict.h"

namespace ember::optim::detail {

// sqrt(x), the public op (correctly rounded, as std::sqrt).
inline Tensor sqrt(const Tensor& x) { return ember::sqrt(x); }

// 1 where x > 0, else 0, in x's dtype: exact, through a cast to bool (nonzero -> 1) and back.
inline Tensor positive_mask(const Tensor& x) { return relu(x).to(kBool).to(x.dtype()); }

// Writes max(a, b) into a, exactly (for finite values): a = a * (1 - m) + b * m with m = (b > a).
inline void maximum_(Tensor& a, const Tensor& b) {
  Tensor m = positive_mask(b - a);
  Tensor keep = rsub(1.0, m);
  a.mul_(keep);
  a.add_(b * m);
}

// Accumulates self += value * t1 * t2, in PyTorch's order ((value * t1) * t2, then the add).
inline void addcmul_(Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  Tensor t = mul(t1, value);
  t.mul_(t2);
  self.add_(t);
}

// self += value * t1 / t2, in PyTorch's order ((value * t1) / t2, then the add).
inline void addcdiv_(Tensor& self, const Tensor& t1, const Tensor& t2, double value) {
  self.add_(div(mul(t1, value), t2));
}

// The state tensor `name`, created as zeros like p when missing, moved to p's device when elsewhere.
inline Tensor& moment(OrderedDict<Tensor>& state, const char* name, const Tensor& p) {
  Tensor* t = state.find(name);
  if (!t) return state.insert(name, zeros(p.shape(), p.dtype(), p.device()));
  if (t->device() != p.device()) *t = t->to(p.device());
  return *t;
}

// Advances a parameter's "step" (a 0-dim float32 tensor on the CPU, counted in float32 as PyTorch
// does) and returns the new count.
inline double advance_step(OrderedDict<Tensor>& state) {
  Tensor* t = state.find("step");
  if (!t) t = &state.insert("step", scalar_tensor(0.0, kFloat32));
  double step = double(float(t->item() + 1.0));
  t->fill_(step);
  return step;
}

// Checks that a gradient matches its parameter's dtype and device.
inline void check_grad(const char* kind, const Tensor& p, const Tensor& grad, size_t g, size_t i) {
  EMBER_CHECK(grad.dtype() == p.dtype() && grad.device() == p.device(), kind, ": the gradient of parameter ", i,
              " of group ", g, " is ", dtype_name(grad.dtype()), " on ", grad.device().str(), ", the parameter is ",
              dtype_name(p.dtype()), " on ", p.device().str());
}

}  // namespace ember::optim::detail
