// Elementwise math beyond the basic unary ops: abs, sigmoid, tanh, gelu (exact and tanh), sqrt,
// softplus and their derivatives; clamp.
#include <cmath>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {

namespace {
constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kInvSqrt2 = 0.7071067811865476;
constexpr double kInvSqrt2Pi = 0.3989422804014327;  // 1 / sqrt(2 pi)
constexpr double kGeluC = 0.044715;

template <class T>
T sigmoid(T x) {
  // Split by sign so exp never overflows.
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

template <class T>
T forward_one(MathOp op, T x) {
  switch (op) {
    case MathOp::Abs: return std::abs(x);
    case MathOp::Sigmoid: return sigmoid(x);
    case MathOp::Tanh: return std::tanh(x);
    case MathOp::Gelu: return T(0.5) * x * (T(1) + std::erf(x * T(kInvSqrt2)));
    case MathOp::GeluTanh:
      return T(0.5) * x * (T(1) + std::tanh(T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x)));
    case MathOp::Sqrt: return std::sqrt(x);
    case MathOp::Softplus: return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::abs(x)));  // log(1 + e^x)
  }
  return T(0);
}

// d f(x) / dx
template <class T>
T derivative(MathOp op, T x) {
  switch (op) {
    case MathOp::Abs: return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
    case MathOp::Sigmoid: {
      T s = sigmoid(x);
      return s * (T(1) - s);
    }
    case MathOp::Tanh: {
      T t = std::tanh(x);
      return T(1) - t * t;
    }
    case MathOp::Gelu:
      return T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2))) + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    case MathOp::GeluTanh: {
      T t = std::tanh(T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x));
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x * x);
    }
    case MathOp::Sqrt: return T(0.5) / std::sqrt(x);
    case MathOp::Softplus: return sigmoid(x);
  }
  return T(0);
}
}  // namespace

void CpuBackend::math(MathOp op, const Tensor& x, Tensor& y) {
  dispatch_floating(x.dtype(), math_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    int64_t n = x.numel();
#pragma omp parallel for if (n >= (1 << 15)) schedule(static)
    for (int64_t i = 0; i < n; ++i) py[i] = forward_one(op, px[i]);
  });
}

void CpuBackend::math_backward(MathOp op, const Tensor& grad_y, const Tensor& x, Tensor& grad_x) {
  dispatch_floating(x.dtype(), math_op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    T* o = static_cast<T*>(grad_x.raw_data());
    int64_t n = x.numel();
#pragma omp parallel for if (n >= (1 << 15)) schedule(static)
    for (int64_t i = 0; i < n; ++i) o[i] = g[i] * derivative(op, px[i]);
  });
}

void CpuBackend::clamp(const Tensor& x, double lo, double hi, Tensor& y) {
  dispatch_floating(x.dtype(), "clamp", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    T l = T(lo), h = T(hi);
    for (int64_t i = 0; i < x.numel(); ++i) {
      // min first, then max: with lo > hi every element is hi, as torch.clamp; NaN stays NaN.
      T v = px[i] < l ? l : px[i];
      py[i] = v > h ? h : v;
    }
  });
}

}  // namespace ember
