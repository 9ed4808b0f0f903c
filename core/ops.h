#pragma once
// The differentiable ops. Each checks its inputs (throwing ember::Error naming the op and the
// expected and found shapes), computes through the backend of its input's device, and records its
// backward when an input requires grad. Definitions live by family in core/ops/*.cpp.
#include "ember/core/autograd.h"
#include "ember/core/shape.h"
#include "ember/core/tensor.h"

namespace ember {

// ---- elementwise (core/ops/elementwise.cpp); broadcasting as numpy ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor relu(const Tensor& x);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return div(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

// ---- reductions (core/ops/reduce.cpp) ----
Tensor sum(const Tensor& x);                                   // all elements -> scalar
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums x down to `shape` (which broadcasts to x's shape): the backward of broadcasting.
Tensor sum_to(const Tensor& x, const Shape& shape);
Tensor argmax(const Tensor& x, int64_t dim);                  // int64, no grad

// ---- matrices (core/ops/linear.cpp) ----
Tensor matmul(const Tensor& a, const Tensor& b);  // (n, k) @ (k, m) -> (n, m)
// x: (N, in), weight: (out, in), bias: (out) or undefined -> (N, out)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution and pooling (core/ops/conv.cpp, core/ops/pool.cpp) ----
// x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O) or undefined -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), IntPair stride = 1,
              IntPair padding = 0);
// stride 0 means stride = kernel, as PyTorch's default.
Tensor max_pool2d(const Tensor& x, IntPair kernel, IntPair stride = 0, IntPair padding = 0);

// ---- normalisation and regularisation (core/ops/norm.cpp) ----
// x: (N, C) or (N, C, H, W). running_mean/var (C) may be undefined (track_running_stats=false);
// weight/bias (C) may be undefined (affine=false). In training, running stats are updated in place.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator& gen = default_generator());

// ---- losses (core/ops/loss.cpp); x: (N, K) ----
Tensor log_softmax(const Tensor& x, int64_t dim = 1);
Tensor nll_loss(const Tensor& log_probs, const Tensor& target);  // mean reduction, target int64 (N)
Tensor cross_entropy(const Tensor& logits, const Tensor& target);

}  // namespace ember
