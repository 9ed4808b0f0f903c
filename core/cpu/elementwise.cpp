// Elementwise kernels: fill, cast, binary ops with numpy broadcasting, unary ops, in-place updates.
#include <cmath>
#include <limits>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/cpu/iterate.h"

namespace ember {

namespace {
constexpr int64_t kParallelMin = 1 << 15;  // below this, threads cost more than they save

template <class T>
inline T apply(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
  }
  return T(0);
}

// Applies `f(i)` for i in [0, n), in parallel when n is large.
template <class F>
void for_each_index(int64_t n, F f) {
#pragma omp parallel for if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

// y = x where x > 0, else 0 (NaN propagates, as PyTorch's relu).
template <class T>
void relu_loop(const T* x, T* y, int64_t n) {
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T v = x[i];
    y[i] = v > T(0) || v != v ? v : T(0);
  }
}

template <class T, BinaryOp Op>
void binary_same(const T* a, const T* b, T* o, int64_t n) {
  for_each_index(n, [&](int64_t i) { o[i] = apply(Op, a[i], b[i]); });
}

template <class T>
void binary_broadcast(BinaryOp op, const T* a, const Shape& sa, const T* b, const Shape& sb, T* o, const Shape& so) {
  auto ta = cpu::broadcast_strides(sa, so), tb = cpu::broadcast_strides(sb, so);
  size_t nd = so.size();
  int64_t inner = nd ? so[nd - 1] : 1;
  int64_t outer = inner ? shape_numel(so) / inner : 0;
  int64_t ia = nd ? ta[nd - 1] : 0, ib = nd ? tb[nd - 1] : 0;
#pragma omp parallel for if (outer * inner >= kParallelMin) schedule(static)
  for (int64_t r = 0; r < outer; ++r) {
    int64_t oa = 0, ob = 0, rem = r;
    for (size_t d = nd ? nd - 1 : 0; d-- > 0;) {
      int64_t idx = rem % so[d];
      rem /= so[d];
      oa += idx * ta[d];
      ob += idx * tb[d];
    }
    T* orow = o + r * inner;
    for (int64_t i = 0; i < inner; ++i) orow[i] = apply(op, a[oa + i * ia], b[ob + i * ib]);
  }
}
}  // namespace

void CpuBackend::fill(Tensor& out, double value) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.raw_data());
    T v = static_cast<T>(value);
    for_each_index(out.numel(), [&](int64_t i) { p[i] = v; });
  });
}

void CpuBackend::cast(const Tensor& src, Tensor& out) {
  dispatch_dtype(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_dtype(out.dtype(), [&](auto otag) {
      using O = decltype(otag);
      const S* s = static_cast<const S*>(src.raw_data());
      O* o = static_cast<O*>(out.raw_data());
      for_each_index(src.numel(), [&](int64_t i) {
        if constexpr (std::is_same_v<O, bool>) {
          o[i] = s[i] != S(0);
        } else if constexpr (std::is_floating_point_v<S> && !std::is_floating_point_v<O>) {
          // Through int64 (so -1.5 -> uint8 wraps to 255, as PyTorch on x86); NaN and values out of
          // int64's range give its minimum, as x86's conversion does, instead of undefined behaviour.
          S v = s[i];
          int64_t w = v > S(-9.2e18) && v < S(9.2e18) ? int64_t(v) : std::numeric_limits<int64_t>::min();
          o[i] = static_cast<O>(w);
        } else {
          o[i] = static_cast<O>(s[i]);
        }
      });
    });
  });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  dispatch_floating(out.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    int64_t n = out.numel();
    if (a.shape() == out.shape() && b.shape() == out.shape()) {
      switch (op) {
        case BinaryOp::Add: return binary_same<T, BinaryOp::Add>(pa, pb, po, n);
        case BinaryOp::Sub: return binary_same<T, BinaryOp::Sub>(pa, pb, po, n);
        case BinaryOp::Mul: return binary_same<T, BinaryOp::Mul>(pa, pb, po, n);
        case BinaryOp::Div: return binary_same<T, BinaryOp::Div>(pa, pb, po, n);
      }
    }
    binary_broadcast(op, pa, a.shape(), pb, b.shape(), po, out.shape());
  });
}

void CpuBackend::binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first, Tensor& out) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      EMBER_FAIL("arithmetic on a bool tensor");
    } else {
      const T* pa = static_cast<const T*>(a.raw_data());
      T* po = static_cast<T*>(out.raw_data());
      T v = static_cast<T>(s);
      if (scalar_first) for_each_index(out.numel(), [&](int64_t i) { po[i] = apply(op, v, pa[i]); });
      else for_each_index(out.numel(), [&](int64_t i) { po[i] = apply(op, pa[i], v); });
    }
  });
}

void CpuBackend::unary(UnaryOp op, const Tensor& a, Tensor& out) {
  dispatch_floating(out.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    int64_t n = out.numel();
    switch (op) {
      case UnaryOp::Neg: return for_each_index(n, [&](int64_t i) { po[i] = -pa[i]; });
      case UnaryOp::Relu: return relu_loop(pa, po, n);
      case UnaryOp::Exp: return for_each_index(n, [&](int64_t i) { po[i] = std::exp(pa[i]); });
      case UnaryOp::Log: return for_each_index(n, [&](int64_t i) { po[i] = std::log(pa[i]); });
      case UnaryOp::Sqrt: return for_each_index(n, [&](int64_t i) { po[i] = std::sqrt(pa[i]); });
    }
  });
}

void CpuBackend::relu_backward(const Tensor& grad_y, const Tensor& x, Tensor& grad_x) {
  dispatch_floating(x.dtype(), "relu_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* g = static_cast<const T*>(grad_y.raw_data());
    const T* px = static_cast<const T*>(x.raw_data());
    T* o = static_cast<T*>(grad_x.raw_data());
    int64_t n = x.numel();
    // A select on loaded values (not a branch on the sign) so the loop vectorises.
#pragma omp parallel for simd if (n >= kParallelMin) schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      T gv = g[i];
      o[i] = px[i] > T(0) ? gv : T(0);
    }
  });
}

void CpuBackend::axpy(double alpha, const Tensor& x, Tensor& y) {
  dispatch_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      EMBER_FAIL("add_: arithmetic on a bool tensor");
    } else {
      const T* px = static_cast<const T*>(x.raw_data());
      T* py = static_cast<T*>(y.raw_data());
      T a = static_cast<T>(alpha);
      if (alpha == 1.0) for_each_index(y.numel(), [&](int64_t i) { py[i] += px[i]; });
      else for_each_index(y.numel(), [&](int64_t i) { py[i] += a * px[i]; });
    }
  });
}

void CpuBackend::mul_inplace(const Tensor& x, Tensor& y) {
  dispatch_floating(y.dtype(), "mul_", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for_each_index(y.numel(), [&](int64_t i) { py[i] *= px[i]; });
  });
}

}  // namespace ember
