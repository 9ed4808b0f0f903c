// max_pool2d kernels, one (n, c) plane per loop iteration, planes split over OpenMP threads.
// Padding counts as -inf (it is never chosen); ties keep the first maximum in row-major window
// order and a NaN wins over any number, as PyTorch.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {

namespace {

constexpr int64_t kParallelMin = 1 << 14;  // output elements below which one thread is faster

struct PoolGeom {
  int64_t planes, h, w, ho, wo;
  int64_t kh, kw, sh, sw, ph, pw;
};

template <class T> struct BitsOf;
template <> struct BitsOf<float> { using type = uint32_t; };
template <> struct BitsOf<double> { using type = uint64_t; };

// Keeps the first maximum; a NaN replaces anything (PyTorch's rule, so the last NaN wins).
// Selects through bit masks, not branches: on real data a branch here mispredicts half the time,
// and the compiler turns a plain `take ? v : best` back into a branch wherever it does not vectorise.
template <class T>
inline void take_max(T v, int64_t v_idx, T& best, int64_t& best_idx) {
  using U = typename BitsOf<T>::type;
  const bool take = (v > best) | (v != v);
  const U mask = U(0) - U(take);
  best = std::bit_cast<T>((std::bit_cast<U>(v) & mask) | (std::bit_cast<U>(best) & ~mask));
  const int64_t imask = -int64_t(take);
  best_idx = (v_idx & imask) | (best_idx & ~imask);
}

// 16-byte vectors (GCC/Clang extensions): 4 floats or 2 doubles, with same-width integer masks.
template <class T> struct Vec16;
template <> struct Vec16<float> {
  typedef float type __attribute__((vector_size(16)));
  typedef int32_t lane;
  typedef lane mask __attribute__((vector_size(16)));
  static type evens(type a, type b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
  static type odds(type a, type b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7); }
};
template <> struct Vec16<double> {
  typedef double type __attribute__((vector_size(16)));
  typedef int64_t lane;
  typedef lane mask __attribute__((vector_size(16)));
  static type evens(type a, type b) { return __builtin_shufflevector(a, b, 0, 2); }
  static type odds(type a, type b) { return __builtin_shufflevector(a, b, 1, 3); }
};

// One output row of the common 2x2 / stride 2 case: no clipping, four reads per output. Whole
// vectors of outputs at a time (the even and odd columns of each input row pulled apart), the
// rest one by one.
template <class T>
void pool_row_k2s2(const T* r0, const T* r1, T* y, int64_t* idx, int64_t wo, int64_t base, int64_t w) {
  using V = typename Vec16<T>::type;
  using M = typename Vec16<T>::mask;
  constexpr int L = int(16 / sizeof(T));
  auto load = [](const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  // best = take ? v : best, k = take ? code : k, with take = v > best or v is NaN.
  auto step = [](V v, V& best, M& k, M code) {
    const M take = (v > best) | (v != v);
    best = std::bit_cast<V>((std::bit_cast<M>(v) & take) | (std::bit_cast<M>(best) & ~take));
    k = (code & take) | (k & ~take);
  };
  // Offsets within a window fit the mask's lanes (int32 for float) unless rows are huge.
  const auto w32 = static_cast<typename Vec16<T>::lane>(w);
  int64_t ow = 0;
  for (; w < (int64_t(1) << 30) && ow + L <= wo; ow += L) {
    const V a0 = load(r0 + 2 * ow), a1 = load(r0 + 2 * ow + L);
    const V b0 = load(r1 + 2 * ow), b1 = load(r1 + 2 * ow + L);
    V best = Vec16<T>::evens(a0, a1);
    M k = {};  // the maximum's offset from the window's corner
    step(Vec16<T>::odds(a0, a1), best, k, M{} + 1);
    step(Vec16<T>::evens(b0, b1), best, k, M{} + w32);
    step(Vec16<T>::odds(b0, b1), best, k, M{} + (w32 + 1));
    std::memcpy(y + ow, &best, sizeof best);
    const int64_t corner = base + 2 * ow;
    for (int l = 0; l < L; ++l) idx[ow + l] = corner + 2 * l + int64_t(k[l]);
  }
  for (; ow < wo; ++ow) {
    T best = r0[2 * ow];
    int64_t bi = base + 2 * ow;
    take_max(r0[2 * ow + 1], base + 2 * ow + 1, best, bi);
    take_max(r1[2 * ow], base + 2 * ow + w, best, bi);
    take_max(r1[2 * ow + 1], base + 2 * ow + w + 1, best, bi);
    y[ow] = best;
    idx[ow] = bi;
  }
}

// x plane (H, W) -> y, idx planes (Ho, Wo)
template <class T>
void pool_plane(const PoolGeom& g, const T* x, T* y, int64_t* idx) {
  if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0) {
    for (int64_t oh = 0; oh < g.ho; ++oh)
      pool_row_k2s2(x + 2 * oh * g.w, x + (2 * oh + 1) * g.w, y + oh * g.wo, idx + oh * g.wo, g.wo, 2 * oh * g.w, g.w);
    return;
  }
  for (int64_t oh = 0; oh < g.ho; ++oh) {
    const int64_t h0 = std::max<int64_t>(oh * g.sh - g.ph, 0);
    const int64_t h1 = std::min<int64_t>(oh * g.sh - g.ph + g.kh, g.h);
    for (int64_t ow = 0; ow < g.wo; ++ow) {
      const int64_t w0 = std::max<int64_t>(ow * g.sw - g.pw, 0);
      const int64_t w1 = std::min<int64_t>(ow * g.sw - g.pw + g.kw, g.w);
      T best = -std::numeric_limits<T>::infinity();
      int64_t bi = h0 * g.w + w0;
      for (int64_t ih = h0; ih < h1; ++ih)
        for (int64_t iw = w0; iw < w1; ++iw) take_max(x[ih * g.w + iw], ih * g.w + iw, best, bi);
      y[oh * g.wo + ow] = best;
      idx[oh * g.wo + ow] = bi;
    }
  }
}

}  // namespace

// x: (N, C, H, W) -> y: (N, C, Ho, Wo), indices int64 (N, C, Ho, Wo) as h * W + w in the plane
void CpuBackend::max_pool2d_forward(const Tensor& x, const Pool2dArgs& args, Tensor& y, Tensor& indices) {
  PoolGeom g{x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3),
             args.kernel.h, args.kernel.w, args.stride.h, args.stride.w, args.padding.h, args.padding.w};
  int64_t* idx = indices.data<int64_t>();
  dispatch_floating(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    const int64_t in_plane = g.h * g.w, out_plane = g.ho * g.wo;
#pragma omp parallel for if (g.planes * out_plane >= kParallelMin) schedule(static)
    for (int64_t p = 0; p < g.planes; ++p)
      pool_plane(g, xp + p * in_plane, yp + p * out_plane, idx + p * out_plane);
  });
}

// grad_y, indices: (N, C, Ho, Wo) -> grad_x: (N, C, H, W), zeros where no maximum was taken
void CpuBackend::max_pool2d_backward(const Tensor& grad_y, const Tensor& indices, Tensor& grad_x) {
  const int64_t planes = grad_x.size(0) * grad_x.size(1);
  const int64_t in_plane = grad_x.size(2) * grad_x.size(3);
  const int64_t out_plane = grad_y.size(2) * grad_y.size(3);
  const int64_t* idx = indices.data<int64_t>();
  dispatch_floating(grad_x.dtype(), "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    const T* gy = grad_y.data<T>();
    T* gx = grad_x.data<T>();
    // Each plane is zeroed and filled by one thread; overlapping windows add in a fixed order.
#pragma omp parallel for if (planes * in_plane >= kParallelMin) schedule(static)
    for (int64_t p = 0; p < planes; ++p) {
      T* gxp = gx + p * in_plane;
      std::fill(gxp, gxp + in_plane, T(0));
      const T* gyp = gy + p * out_plane;
      const int64_t* ip = idx + p * out_plane;
      for (int64_t i = 0; i < out_plane; ++i) gxp[ip[i]] += gyp[i];
    }
  });
}

}  // namespace ember
