// conv2d kernels: cuDNN when it is built and enabled (conv_cudnn.cpp), else Ember's own im2col +
// cuBLAS. The own path runs a chunk of nb samples at a time through one GEMM each:
//   col (K, nb*P) = im2col(x)              K = C*kh*kw, P = Ho*Wo, column j*P + p: sample j, position p
//   forward:  Y (O, nb*P) = W (O, K) @ col,  then y (nb, O, P) = Y permuted, plus the bias
//   backward: G (O, nb*P) = grad_y permuted
//             grad_w (O, K) += G @ col^T     (chunks accumulate in order)
//             colg (K, nb*P) = W^T @ G,      grad_x = col2im(colg), each input element gathering its taps
// grad_b is a fixed-order reduction of grad_y. Nothing uses atomics: the results are deterministic.
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

using cuda::grid_for;
using cuda::kThreads;

struct ConvGeom {
  int64_t n, c, h, w;      // input
  int64_t o, kh, kw;       // weight (O, C, kh, kw)
  int64_t sh, sw, ph, pw;  // stride, padding
  int64_t ho, wo;          // output
  __host__ __device__ int64_t k() const { return c * kh * kw; }
  __host__ __device__ int64_t p() const { return ho * wo; }
};

ConvGeom geometry(const Tensor& x, const Tensor& w, const Conv2dArgs& a) {
  ConvGeom g{};
  g.n = x.size(0), g.c = x.size(1), g.h = x.size(2), g.w = x.size(3);
  g.o = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.sh = a.stride.h, g.sw = a.stride.w, g.ph = a.padding.h, g.pw = a.padding.w;
  g.ho = (g.h + 2 * g.ph - g.kh) / g.sh + 1;
  g.wo = (g.w + 2 * g.pw - g.kw) / g.sw + 1;
  return g;
}

// x: nb samples (nb, C, H, W) -> col (K, nb * P)
template <class T>
__global__ void im2col_kernel(const T* x, T* col, ConvGeom g, int64_t nb) {
  const int64_t P = g.p(), total = g.k() * nb * P;
  EMBER_KERNEL_LOOP(idx, total) {
    const int64_t p = idx % P, j = (idx / P) % nb, k = idx / (P * nb);
    const int64_t kj = k % g.kw, ki = (k / g.kw) % g.kh, c = k / (g.kw * g.kh);
    const int64_t ih = (p / g.wo) * g.sh - g.ph + ki, iw = (p % g.wo) * g.sw - g.pw + kj;
    col[idx] = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w ? x[((j * g.c + c) * g.h + ih) * g.w + iw] : T(0);
  }
}

// colg (K, nb * P) -> grad_x: nb samples (nb, C, H, W), each element the sum of the taps that read it
template <class T>
__global__ void col2im_kernel(const T* colg, T* gx, ConvGeom g, int64_t nb) {
  const int64_t P = g.p(), total = nb * g.c * g.h * g.w;
  EMBER_KERNEL_LOOP(idx, total) {
    const int64_t iw = idx % g.w, ih = (idx / g.w) % g.h, c = (idx / (g.w * g.h)) % g.c, j = idx / (g.w * g.h * g.c);
    T acc = T(0);
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      const int64_t th = ih + g.ph - ki;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.ho) continue;
      const int64_t oh = th / g.sh;
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const int64_t tw = iw + g.pw - kj;
        if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.wo) continue;
        const int64_t k = (c * g.kh + ki) * g.kw + kj;
        acc += colg[(k * nb + j) * P + oh * g.wo + tw / g.sw];
      }
    }
    gx[idx] = acc;
  }
}

// Y (O, nb * P) -> y (nb, O, P), plus bias[o] when there is one
template <class T>
__global__ void unfold_output_kernel(const T* yt, const T* bias, T* y, int64_t o_count, int64_t nb, int64_t P) {
  EMBER_KERNEL_LOOP(idx, nb * o_count * P) {
    const int64_t p = idx % P, o = (idx / P) % o_count, j = idx / (P * o_count);
    const T v = yt[(o * nb + j) * P + p];
    y[idx] = bias ? T(v + bias[o]) : v;
  }
}

// grad_y (nb, O, P) -> G (O, nb * P)
template <class T>
__global__ void fold_grad_kernel(const T* gy, T* gt, int64_t o_count, int64_t nb, int64_t P) {
  EMBER_KERNEL_LOOP(idx, nb * o_count * P) {
    const int64_t p = idx % P, j = (idx / P) % nb, o = idx / (P * nb);
    gt[idx] = gy[(j * o_count + o) * P + p];
  }
}

// Samples per chunk, so that the largest scratch matrix stays under ~64 MiB.
int64_t chunk_samples(const ConvGeom& g, size_t elem) {
  const int64_t per_sample = std::max(g.k(), g.o) * g.p() * int64_t(elem);
  return std::clamp<int64_t>((int64_t(64) << 20) / std::max<int64_t>(per_sample, 1), 1, g.n);
}

template <class T>
const T* ptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr;
}

}  // namespace

// x: (N, C, H, W), w: (O, C, kh, kw), b: (O) or undefined -> y: (N, O, Ho, Wo)
void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args,
                                 Tensor& y) {
  cuda::Scope scope(*ctx_, "conv2d_forward");
  if (cudnn_conv2d_forward(x, w, b, args, y)) return;
  const ConvGeom g = geometry(x, w, args);
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    const int64_t K = g.k(), P = g.p(), chunk = chunk_samples(g, sizeof(T));
    cuda::Scratch col(*ctx_, size_t(K * chunk * P) * sizeof(T));
    cuda::Scratch yt(*ctx_, size_t(g.o * chunk * P) * sizeof(T));
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
      const int64_t nb = std::min(chunk, g.n - n0);
      im2col_kernel<T><<<grid_for(K * nb * P), kThreads, 0, ctx_->stream>>>(ptr<T>(x) + n0 * g.c * g.h * g.w,
                                                                             col.as<T>(), g, nb);
      EMBER_CUDA_LAUNCHED("im2col_kernel");
      cuda::gemm_rows(*ctx_, x.dtype(), false, false, g.o, nb * P, K, 1.0, w.raw_data(), K, col.as<T>(), nb * P, 0.0,
                      yt.as<T>(), nb * P);
      unfold_output_kernel<T><<<grid_for(nb * g.o * P), kThreads, 0, ctx_->stream>>>(
          yt.as<T>(), ptr<T>(b), static_cast<T*>(y.raw_data()) + n0 * g.o * P, g.o, nb, P);
      EMBER_CUDA_LAUNCHED("unfold_output_kernel");
    }
  });
}

// grad_y: (N, O, Ho, Wo) -> grad_x: (N, C, H, W), grad_w: (O, C, kh, kw), grad_b: (O); each optional
void CudaBackend::conv2d_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                                  Tensor& grad_x, Tensor& grad_w, Tensor& grad_b) {
  cuda::Scope scope(*ctx_, "conv2d_backward");
  const ConvGeom g = geometry(x, w, args);
  const int64_t K = g.k(), P = g.p();
  if (grad_b.defined())  // grad_y (N, O, P) summed over N and P
    cuda::sum_dims(*ctx_, x.dtype(), grad_y.raw_data(), {{g.o, P}}, {{g.n, g.o * P}, {P, 1}}, grad_b.raw_data());
  if (!grad_x.defined() && !grad_w.defined()) return;
  if (cudnn_conv2d_backward(grad_y, x, w, args, grad_x, grad_w)) return;
  dispatch_floating(x.dtype(), "conv2d_backward", [&](auto tag) {
    using T = decltype(tag);
    const int64_t chunk = chunk_samples(g, sizeof(T));
    cuda::Scratch gt(*ctx_, size_t(g.o * chunk * P) * sizeof(T));
    cuda::Scratch col(*ctx_, size_t(K * chunk * P) * sizeof(T));  // im2col(x), then the gradient columns
    for (int64_t n0 = 0; n0 < g.n; n0 += chunk) {
      const int64_t nb = std::min(chunk, g.n - n0);
      fold_grad_kernel<T><<<grid_for(nb * g.o * P), kThreads, 0, ctx_->stream>>>(ptr<T>(grad_y) + n0 * g.o * P,
                                                                                  gt.as<T>(), g.o, nb, P);
      EMBER_CUDA_LAUNCHED("fold_grad_kernel");
      if (grad_w.defined()) {
        im2col_kernel<T><<<grid_for(K * nb * P), kThreads, 0, ctx_->stream>>>(ptr<T>(x) + n0 * g.c * g.h * g.w,
                                                                               col.as<T>(), g, nb);
        EMBER_CUDA_LAUNCHED("im2col_kernel");
        cuda::gemm_rows(*ctx_, x.dtype(), false, true, g.o, K, nb * P, 1.0, gt.as<T>(), nb * P, col.as<T>(), nb * P,
                        n0 == 0 ? 0.0 : 1.0, grad_w.raw_data(), K);
      }
      if (grad_x.defined()) {
        cuda::gemm_rows(*ctx_, x.dtype(), true, false, K, nb * P, g.o, 1.0, w.raw_data(), K, gt.as<T>(), nb * P, 0.0,
                        col.as<T>(), nb * P);
        col2im_kernel<T><<<grid_for(nb * g.c * g.h * g.w), kThreads, 0, ctx_->stream>>>(
            col.as<T>(), static_cast<T*>(grad_x.raw_data()) + n0 * g.c * g.h * g.w, g, nb);
        EMBER_CUDA_LAUNCHED("col2im_kernel");
      }
    }
  });
}

}  // namespace ember
