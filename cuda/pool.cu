// max_pool2d kernels, mirroring core/cpu/pool.cpp: padding counts as -inf, ties keep the first
// maximum in row-major window order, and a NaN wins over any number (the last NaN), as PyTorch.
// The backward gathers: each input element adds the gradients of the windows that chose it, in
// increasing output order, so it gets exactly the CPU's sums (and needs no atomics).
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

using cuda::grid_for;
using cuda::kThreads;

struct PoolGeom {
  int64_t planes, h, w, ho, wo;
  int64_t kh, kw, sh, sw, ph, pw;
};

// x: (planes, H, W) -> y, idx: (planes, Ho, Wo); idx as h * W + w in the plane
template <class T>
__global__ void max_pool_forward_kernel(const T* x, T* y, int64_t* idx, PoolGeom g) {
  EMBER_KERNEL_LOOP(i, g.planes * g.ho * g.wo) {
    const int64_t ow = i % g.wo, oh = (i / g.wo) % g.ho, plane = i / (g.wo * g.ho);
    const int64_t h_start = oh * g.sh - g.ph, w_start = ow * g.sw - g.pw;
    const int64_t h0 = h_start > 0 ? h_start : 0, h1 = h_start + g.kh < g.h ? h_start + g.kh : g.h;
    const int64_t w0 = w_start > 0 ? w_start : 0, w1 = w_start + g.kw < g.w ? w_start + g.kw : g.w;
    const T* xp = x + plane * g.h * g.w;
    T best = -cuda::infinity<T>();
    int64_t best_idx = h0 * g.w + w0;
    for (int64_t ih = h0; ih < h1; ++ih)
      for (int64_t iw = w0; iw < w1; ++iw) {
        const T v = xp[ih * g.w + iw];
        if (v > best || v != v) {
          best = v;
          best_idx = ih * g.w + iw;
        }
      }
    y[i] = best;
    idx[i] = best_idx;
  }
}

// grad_x: (planes, H, W), each element the sum of grad_y over the windows holding it whose maximum it is
template <class T>
__global__ void max_pool_backward_gather_kernel(const T* gy, const int64_t* idx, T* gx, PoolGeom g) {
  EMBER_KERNEL_LOOP(i, g.planes * g.h * g.w) {
    const int64_t iw = i % g.w, ih = (i / g.w) % g.h, plane = i / (g.w * g.h);
    const int64_t self = ih * g.w + iw;
    // Windows oh with oh * sh - ph <= ih < oh * sh - ph + kh, likewise for ow.
    const int64_t th = ih + g.ph - g.kh + 1, tw = iw + g.pw - g.kw + 1;
    const int64_t oh0 = th <= 0 ? 0 : (th + g.sh - 1) / g.sh, ow0 = tw <= 0 ? 0 : (tw + g.sw - 1) / g.sw;
    const int64_t oh1 = (ih + g.ph) / g.sh < g.ho - 1 ? (ih + g.ph) / g.sh : g.ho - 1;
    const int64_t ow1 = (iw + g.pw) / g.sw < g.wo - 1 ? (iw + g.pw) / g.sw : g.wo - 1;
    const int64_t base = plane * g.ho * g.wo;
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = base + oh * g.wo + ow;
        if (idx[o] == self) acc += gy[o];
      }
    gx[i] = acc;
  }
}

// Without the geometry: one thread per plane adds its outputs in order (the CPU's loop). Slower;
// the op calls the gathering version above.
template <class T>
__global__ void max_pool_backward_plane_kernel(const T* gy, const int64_t* idx, T* gx, int64_t planes,
                                               int64_t in_plane, int64_t out_plane) {
  EMBER_KERNEL_LOOP(p, planes) {
    T* gxp = gx + p * in_plane;
    for (int64_t i = 0; i < out_plane; ++i) gxp[idx[p * out_plane + i]] += gy[p * out_plane + i];
  }
}

}  // namespace

// x: (N, C, H, W) -> y: (N, C, Ho, Wo), indices int64 (N, C, Ho, Wo)
void CudaBackend::max_pool2d_forward(const Tensor& x, const Pool2dArgs& args, Tensor& y, Tensor& indices) {
  cuda::Scope scope(*ctx_, "max_pool2d_forward");
  const PoolGeom g{x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3),
                   args.kernel.h, args.kernel.w, args.stride.h, args.stride.w, args.padding.h, args.padding.w};
  const int64_t n = y.numel();
  if (n == 0) return;
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool_forward_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(
        static_cast<const T*>(x.raw_data()), static_cast<T*>(y.raw_data()), indices.data<int64_t>(), g);
  });
  EMBER_CUDA_LAUNCHED("max_pool_forward_kernel");
}

// grad_y, indices: (N, C, Ho, Wo) -> grad_x: (N, C, H, W), zeros where no maximum was taken
void CudaBackend::max_pool2d_backward_args(const Tensor& grad_y, const Tensor& indices, const Pool2dArgs& args,
                                           Tensor& grad_x) {
  cuda::Scope scope(*ctx_, "max_pool2d_backward");
  const PoolGeom g{grad_x.size(0) * grad_x.size(1), grad_x.size(2), grad_x.size(3), grad_y.size(2), grad_y.size(3),
                   args.kernel.h, args.kernel.w, args.stride.h, args.stride.w, args.padding.h, args.padding.w};
  const int64_t n = grad_x.numel();
  if (n == 0) return;
  dispatch_floating(grad_x.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    max_pool_backward_gather_kernel<T><<<grid_for(n), kThreads, 0, ctx_->stream>>>(
        static_cast<const T*>(grad_y.raw_data()), indices.data<int64_t>(), static_cast<T*>(grad_x.raw_data()), g);
  });
  EMBER_CUDA_LAUNCHED("max_pool_backward_gather_kernel");
}

void CudaBackend::max_pool2d_backward(const Tensor& grad_y, const Tensor& indices, Tensor& grad_x) {
  cuda::Scope scope(*ctx_, "max_pool2d_backward");
  if (grad_x.numel() == 0) return;
  EMBER_CUDA_CHECK(cudaMemsetAsync(grad_x.raw_data(), 0, grad_x.nbytes(), ctx_->stream));
  const int64_t planes = grad_x.size(0) * grad_x.size(1);
  const int64_t in_plane = grad_x.size(2) * grad_x.size(3), out_plane = grad_y.size(2) * grad_y.size(3);
  dispatch_floating(grad_x.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    max_pool_backward_plane_kernel<T><<<grid_for(planes, 64), 64, 0, ctx_->stream>>>(
        static_cast<const T*>(grad_y.raw_data()), indices.data<int64_t>(), static_cast<T*>(grad_x.raw_data()),
        planes, in_plane, out_plane);
  });
  EMBER_CUDA_LAUNCHED("max_pool_backward_plane_kernel");
}

}  // namespace ember
