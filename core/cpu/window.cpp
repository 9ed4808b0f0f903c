// Sliding-window kernels beyond MNISTNet's: im2col / col2im (conv2d with dilation and groups,
// conv1d), max_pool2d with dilation and ceil_mode, avg_pool2d, adaptive_avg_pool2d.
// Plain loops over (n, c) planes, in parallel across planes.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {

namespace {
// Output size of a convolution window (floor mode): (H + 2p - d (k - 1) - 1) / s + 1.
int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

template <class F>
void for_planes(int64_t planes, int64_t work, F f) {
#pragma omp parallel for if (planes * work >= (1 << 15)) schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) f(pl);
}
}  // namespace

void CpuBackend::im2col(const Tensor& x, const Window2dArgs& a, Tensor& cols) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t kh = a.kernel.h, kw = a.kernel.w;
  const int64_t Ho = conv_out(H, kh, a.stride.h, a.padding.h, a.dilation.h);
  const int64_t Wo = conv_out(W, kw, a.stride.w, a.padding.w, a.dilation.w);
  dispatch_floating(x.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* pc = static_cast<T*>(cols.raw_data());
    // cols[n][(c, i, j)][(oh, ow)] = x[n][c][oh s - p + i d][ow s - p + j d]
    for_planes(N * C, kh * kw * Ho * Wo, [&](int64_t pl) {
      const T* plane = px + pl * H * W;
      T* out = pc + pl * kh * kw * Ho * Wo;
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j, out += Ho * Wo)
          for (int64_t oh = 0; oh < Ho; ++oh) {
            int64_t h = oh * a.stride.h - a.padding.h + i * a.dilation.h;
            for (int64_t ow = 0; ow < Wo; ++ow) {
              int64_t w = ow * a.stride.w - a.padding.w + j * a.dilation.w;
              out[oh * Wo + ow] = h >= 0 && h < H && w >= 0 && w < W ? plane[h * W + w] : T(0);
            }
          }
    });
  });
}

void CpuBackend::col2im(const Tensor& cols, const Window2dArgs& a, Tensor& x) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t kh = a.kernel.h, kw = a.kernel.w;
  const int64_t Ho = conv_out(H, kh, a.stride.h, a.padding.h, a.dilation.h);
  const int64_t Wo = conv_out(W, kw, a.stride.w, a.padding.w, a.dilation.w);
  dispatch_floating(x.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    const T* pc = static_cast<const T*>(cols.raw_data());
    T* px = static_cast<T*>(x.raw_data());
    for_planes(N * C, kh * kw * Ho * Wo, [&](int64_t pl) {
      T* plane = px + pl * H * W;
      std::fill(plane, plane + H * W, T(0));
      const T* in = pc + pl * kh * kw * Ho * Wo;
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j, in += Ho * Wo)
          for (int64_t oh = 0; oh < Ho; ++oh) {
            int64_t h = oh * a.stride.h - a.padding.h + i * a.dilation.h;
            if (h < 0 || h >= H) continue;
            for (int64_t ow = 0; ow < Wo; ++ow) {
              int64_t w = ow * a.stride.w - a.padding.w + j * a.dilation.w;
              if (w >= 0 && w < W) plane[h * W + w] += in[oh * Wo + ow];
            }
          }
    });
  });
}

void CpuBackend::max_pool2d_general(const Tensor& x, const Window2dArgs& a, Tensor& y, Tensor& indices) {
  const int64_t H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  const int64_t planes = x.size(0) * x.size(1);
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    int64_t* pi = indices.data<int64_t>();
    for_planes(planes, Ho * Wo * a.kernel.h * a.kernel.w, [&](int64_t pl) {
      const T* plane = px + pl * H * W;
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          T best = -std::numeric_limits<T>::infinity();
          int64_t at = -1;
          for (int64_t i = 0; i < a.kernel.h; ++i) {
            int64_t h = oh * a.stride.h - a.padding.h + i * a.dilation.h;
            if (h < 0 || h >= H) continue;
            for (int64_t j = 0; j < a.kernel.w; ++j) {
              int64_t w = ow * a.stride.w - a.padding.w + j * a.dilation.w;
              if (w < 0 || w >= W) continue;
              T v = plane[h * W + w];
              if (at < 0 || v > best || v != v) {  // NaN wins, as PyTorch
                best = v;
                at = h * W + w;
                if (v != v) break;
              }
            }
          }
          py[pl * Ho * Wo + oh * Wo + ow] = best;
          pi[pl * Ho * Wo + oh * Wo + ow] = at < 0 ? 0 : at;
        }
    });
  });
}

namespace {
// PyTorch's avg_pool2d window for output (oh, ow): the clipped range and the divisor.
struct AvgWindow {
  int64_t h0, h1, w0, w1, divisor;
};
AvgWindow avg_window(const Window2dArgs& a, int64_t H, int64_t W, int64_t oh, int64_t ow) {
  int64_t h0 = oh * a.stride.h - a.padding.h, w0 = ow * a.stride.w - a.padding.w;
  int64_t h1 = std::min(h0 + a.kernel.h, H + a.padding.h), w1 = std::min(w0 + a.kernel.w, W + a.padding.w);
  int64_t padded = (h1 - h0) * (w1 - w0);
  h0 = std::max<int64_t>(h0, 0), w0 = std::max<int64_t>(w0, 0);
  h1 = std::min(h1, H), w1 = std::min(w1, W);
  int64_t inside = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, a.count_include_pad ? padded : inside};
}

// Adaptive window [floor(i n / m), ceil((i + 1) n / m)).
inline int64_t start_of(int64_t i, int64_t m, int64_t n) { return (i * n) / m; }
inline int64_t end_of(int64_t i, int64_t m, int64_t n) { return ((i + 1) * n + m - 1) / m; }
}  // namespace

void CpuBackend::avg_pool2d_forward(const Tensor& x, const Window2dArgs& a, Tensor& y) {
  const int64_t H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  dispatch_floating(x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for_planes(x.size(0) * x.size(1), Ho * Wo * a.kernel.h * a.kernel.w, [&](int64_t pl) {
      const T* plane = px + pl * H * W;
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          AvgWindow win = avg_window(a, H, W, oh, ow);
          T acc = 0;
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) acc += plane[h * W + w];
          py[pl * Ho * Wo + oh * Wo + ow] = win.divisor > 0 ? acc / T(win.divisor) : T(0);
        }
    });
  });
}

void CpuBackend::avg_pool2d_backward(const Tensor& grad_y, const Window2dArgs& a, Tensor& grad_x) {
  const int64_t H = grad_x.size(2), W = grad_x.size(3), Ho = grad_y.size(2), Wo = grad_y.size(3);
  dispatch_floating(grad_x.dtype(), "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = static_cast<const T*>(grad_y.raw_data());
    T* px = static_cast<T*>(grad_x.raw_data());
    for_planes(grad_x.size(0) * grad_x.size(1), Ho * Wo * a.kernel.h * a.kernel.w, [&](int64_t pl) {
      T* plane = px + pl * H * W;
      std::fill(plane, plane + H * W, T(0));
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          AvgWindow win = avg_window(a, H, W, oh, ow);
          if (win.divisor <= 0) continue;
          T g = pg[pl * Ho * Wo + oh * Wo + ow] / T(win.divisor);
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) plane[h * W + w] += g;
        }
    });
  });
}

void CpuBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  const int64_t H = x.size(2), W = x.size(3), Ho = y.size(2), Wo = y.size(3);
  dispatch_floating(x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* py = static_cast<T*>(y.raw_data());
    for_planes(x.size(0) * x.size(1), H * W, [&](int64_t pl) {
      const T* plane = px + pl * H * W;
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t h0 = start_of(oh, Ho, H), h1 = end_of(oh, Ho, H), w0 = start_of(ow, Wo, W), w1 = end_of(ow, Wo, W);
          T acc = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) acc += plane[h * W + w];
          py[pl * Ho * Wo + oh * Wo + ow] = acc / T((h1 - h0) * (w1 - w0));
        }
    });
  });
}

void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& grad_y, Tensor& grad_x) {
  const int64_t H = grad_x.size(2), W = grad_x.size(3), Ho = grad_y.size(2), Wo = grad_y.size(3);
  dispatch_floating(grad_x.dtype(), "adaptive_avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* pg = static_cast<const T*>(grad_y.raw_data());
    T* px = static_cast<T*>(grad_x.raw_data());
    for_planes(grad_x.size(0) * grad_x.size(1), H * W, [&](int64_t pl) {
      T* plane = px + pl * H * W;
      std::fill(plane, plane + H * W, T(0));
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t h0 = start_of(oh, Ho, H), h1 = end_of(oh, Ho, H), w0 = start_of(ow, Wo, W), w1 = end_of(ow, Wo, W);
          T g = pg[pl * Ho * Wo + oh * Wo + ow] / T((h1 - h0) * (w1 - w0));
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) plane[h * W + w] += g;
        }
    });
  });
}

}  // namespace ember
