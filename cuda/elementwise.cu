// Elementwise kernels: fill, cast, binary ops with numpy broadcasting, unary ops, in-place updates.
// Mirrors core/cpu/elementwise.cpp; single operations round as the CPU's, and axpy fuses its multiply
// and add as GCC does on the CPU (see kernels.cuh), so these kernels give the CPU's bits.
#include <type_traits>

#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

using cuda::grid_for;
using cuda::kThreads;

template <class T>
__device__ __forceinline__ T apply(int op, T a, T b) {
  switch (op) {
    case int(BinaryOp::Add): return T(a + b);
    case int(BinaryOp::Sub): return T(a - b);
    case int(BinaryOp::Mul): return T(a * b);
    default: return T(a / b);
  }
}

template <class T>
__global__ void fill_kernel(T* out, T value, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) out[i] = value;
}

template <class S, class O>
__global__ void cast_kernel(const S* src, O* out, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) {
    if constexpr (std::is_same_v<O, bool>) out[i] = src[i] != S(0);
    else out[i] = static_cast<O>(src[i]);
  }
}

template <class T>
__global__ void binary_same_kernel(int op, const T* a, const T* b, T* out, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) out[i] = apply(op, a[i], b[i]);
}

// Output dims (outer to inner) with each operand's strides, 0 on broadcast dims.
struct Broadcast {
  int nd;
  int64_t size[cuda::kMaxDims];
  int64_t stride_a[cuda::kMaxDims];
  int64_t stride_b[cuda::kMaxDims];
};

template <class T>
__global__ void binary_broadcast_kernel(int op, const T* a, const T* b, T* out, int64_t n, Broadcast g) {
  EMBER_KERNEL_LOOP(i, n) {
    int64_t rem = i, ia = 0, ib = 0;
    for (int d = g.nd - 1; d >= 0; --d) {
      const int64_t k = rem % g.size[d];
      rem /= g.size[d];
      ia += k * g.stride_a[d];
      ib += k * g.stride_b[d];
    }
    out[i] = apply(op, a[ia], b[ib]);
  }
}

template <class T>
__global__ void binary_scalar_kernel(int op, const T* a, T s, bool scalar_first, T* out, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) out[i] = scalar_first ? apply(op, s, a[i]) : apply(op, a[i], s);
}

template <class T>
__global__ void unary_kernel(int op, const T* a, T* out, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) {
    const T v = a[i];
    switch (op) {
      case int(UnaryOp::Neg): out[i] = -v; break;
      case int(UnaryOp::Relu): out[i] = v > T(0) ? v : T(0); break;
      case int(UnaryOp::Exp): out[i] = cuda::dexp(v); break;
      case int(UnaryOp::Log): out[i] = cuda::dlog(v); break;
      default: out[i] = cuda::dsqrt(v); break;
    }
  }
}

// grad_x = grad_y where x > 0, else 0
template <class T>
__global__ void relu_backward_kernel(const T* gy, const T* x, T* gx, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) gx[i] = x[i] > T(0) ? gy[i] : T(0);
}

// y += alpha * x (y += x when alpha is 1, as the CPU)
template <class T>
__global__ void axpy_kernel(T alpha, bool unit, const T* x, T* y, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) y[i] = unit ? cuda::add_rn(y[i], x[i]) : cuda::fma_rn(alpha, x[i], y[i]);
}

template <class T>
__global__ void mul_inplace_kernel(const T* x, T* y, int64_t n) {
  EMBER_KERNEL_LOOP(i, n) y[i] = y[i] * x[i];
}

// Strides of `s` laid against `out` (right-aligned), 0 where s is broadcast.
std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    const size_t i = s.size() - 1 - k, j = out.size() - 1 - k;
    st[j] = s[i] == 1 ? 0 : stride;
    stride *= s[i];
  }
  return st;
}

// Drops size-1 dims and merges neighbours that both operands walk contiguously, so that the
// common cases (a bias over rows, over channels) take one or two dims.
Broadcast plan_broadcast(const Shape& sa, const Shape& sb, const Shape& so) {
  const auto ta = broadcast_strides(sa, so), tb = broadcast_strides(sb, so);
  std::vector<int64_t> size, st_a, st_b;  // inner to outer while merging
  for (size_t k = so.size(); k-- > 0;) {
    if (so[k] == 1) continue;
    if (!size.empty() && ta[k] == st_a.back() * size.back() && tb[k] == st_b.back() * size.back()) {
      size.back() *= so[k];
      continue;
    }
    size.push_back(so[k]);
    st_a.push_back(ta[k]);
    st_b.push_back(tb[k]);
  }
  EMBER_CHECK(size.size() <= size_t(cuda::kMaxDims), "cuda binary: broadcasting ", shape_str(sa), " with ",
              shape_str(sb), " needs ", size.size(), " dims after merging; at most ", cuda::kMaxDims,
              " are supported");
  Broadcast g{};
  g.nd = int(size.size());
  for (int d = 0; d < g.nd; ++d) {  // back to outer-to-inner
    const size_t k = size.size() - 1 - size_t(d);
    g.size[d] = size[k];
    g.stride_a[d] = st_a[k];
    g.stride_b[d] = st_b[k];
  }
  return g;
}

template <class T> const T* in(const Tensor& t) { return static_cast<const T*>(t.raw_data()); }
template <class T> T* out_of(const Tensor& t) { return static_cast<T*>(t.raw_data()); }

}  // namespace

void CudaBackend::fill(Tensor& out, double value) {
  const int64_t n = out.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "fill");
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(out_of<T>(out), static_cast<T>(value), n);
  });
  EMBER_CUDA_LAUNCHED("fill_kernel");
}

void CudaBackend::cast(const Tensor& src, Tensor& out) {
  const int64_t n = src.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "cast");
  dispatch_dtype(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_dtype(out.dtype(), [&](auto otag) {
      using O = decltype(otag);
      cast_kernel<S, O><<<grid_for(n), kThreads, 0, ctx_->stream>>>(in<S>(src), out_of<O>(out), n);
    });
  });
  EMBER_CUDA_LAUNCHED("cast_kernel");
}

// a, b broadcast to out's shape; float dtypes
void CudaBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "binary");
  dispatch_floating(out.dtype(), "binary", [&](auto tag) {
    using T = decltype(tag);
    if (a.shape() == out.shape() && b.shape() == out.shape()) {
      binary_same_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(int(op), in<T>(a), in<T>(b), out_of<T>(out), n);
      return;
    }
    const Broadcast g = plan_broadcast(a.shape(), b.shape(), out.shape());
    binary_broadcast_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(int(op), in<T>(a), in<T>(b),
                                                                             out_of<T>(out), n, g);
  });
  EMBER_CUDA_LAUNCHED("binary_kernel");
}

void CudaBackend::binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "binary_scalar");
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      EMBER_FAIL("arithmetic on a bool tensor");
    } else {
      binary_scalar_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(int(op), in<T>(a), static_cast<T>(s),
                                                                          scalar_first, out_of<T>(out), n);
    }
  });
  EMBER_CUDA_LAUNCHED("binary_scalar_kernel");
}

void CudaBackend::unary(UnaryOp op, const Tensor& a, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "unary");
  dispatch_floating(out.dtype(), "unary", [&](auto tag) {
    using T = decltype(tag);
    unary_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(int(op), in<T>(a), out_of<T>(out), n);
  });
  EMBER_CUDA_LAUNCHED("unary_kernel");
}

void CudaBackend::relu_backward(const Tensor& grad_y, const Tensor& x, Tensor& grad_x) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "relu_backward");
  dispatch_floating(x.dtype(), "relu_backward", [&](auto tag) {
    using T = decltype(tag);
    relu_backward_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(in<T>(grad_y), in<T>(x), out_of<T>(grad_x), n);
  });
  EMBER_CUDA_LAUNCHED("relu_backward_kernel");
}

void CudaBackend::axpy(double alpha, const Tensor& x, Tensor& y) {
  const int64_t n = y.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "axpy");
  dispatch_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      EMBER_FAIL("add_: arithmetic on a bool tensor");
    } else {
      axpy_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(static_cast<T>(alpha), alpha == 1.0, in<T>(x),
                                                                  out_of<T>(y), n);
    }
  });
  EMBER_CUDA_LAUNCHED("axpy_kernel");
}

void CudaBackend::mul_inplace(const Tensor& x, Tensor& y) {
  const int64_t n = y.numel();
  if (n == 0) return;
  cuda::Scope scope(*ctx_, "mul_inplace");
  dispatch_floating(y.dtype(), "mul_", [&](auto tag) {
    using T = decltype(tag);
    mul_inplace_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(in<T>(x), out_of<T>(y), n);
  });
  EMBER_CUDA_LAUNCHED("mul_inplace_kernel");
}

}  // namespace ember
