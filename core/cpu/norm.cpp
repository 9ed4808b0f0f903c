// Batch normalisation kernels. x is viewed as (N, C, S) with S = H * W (S = 1 for a 2-D input);
// each channel's statistics are accumulated in double, whatever the input dtype.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {
namespace {

// Below this many elements the OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

struct BnDims {
  int64_t n, c, s;
};

BnDims bn_dims(const Tensor& x) {
  const Shape& sh = x.shape();
  int64_t s = 1;
  for (size_t d = 2; d < sh.size(); ++d) s *= sh[d];
  return {sh[0], sh[1], s};
}

template <class T> const T* opt_data(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* opt_mut(Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// Biased variance from sums of d = x - shift over `count` values; shifting by a sample of the
// channel keeps the one-pass formula accurate when |mean| >> std.
inline void finish_stats(double sum, double sumsq, double shift, int64_t count, double& mean, double& var) {
  double m = sum / double(count);
  mean = shift + m;
  var = std::max(sumsq / double(count) - m * m, 0.0);
}

template <class T>
void bn_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                Tensor& running_var, bool training, double momentum, double eps, Tensor& y, Tensor& save_mean,
                Tensor& save_invstd) {
  const BnDims dims = bn_dims(x);  // not a structured binding: clang 14 cannot capture those in lambdas
  const int64_t N = dims.n, C = dims.c, S = dims.s;
  const T* xp = x.data<T>();
  const T* wp = opt_data<T>(weight);
  const T* bp = opt_data<T>(bias);
  T* rm = opt_mut<T>(running_mean);
  T* rv = opt_mut<T>(running_var);
  T* yp = y.data<T>();
  T* smp = save_mean.data<T>();
  T* sip = save_invstd.data<T>();
  const int64_t count = N * S;
  const bool update = training && rm != nullptr && rv != nullptr;
  EMBER_CHECK(training || (rm && rv), "batch_norm: running_mean and running_var must be defined in eval mode");
  const double unbias = count > 1 ? double(count) / double(count - 1) : 1.0;

  // Per channel: batch (or running) statistics -> the affine map y = x * scale + shift, and the
  // running-stat update. Writes the channel's save_mean/save_invstd; returns (scale, shift).
  auto channel_map = [&](int64_t c, double mean, double var, double& scale, double& shift) {
    double invstd = 1.0 / std::sqrt(var + eps);
    smp[c] = T(mean);
    sip[c] = T(invstd);
    double w = wp ? double(wp[c]) : 1.0, b = bp ? double(bp[c]) : 0.0;
    scale = w * invstd;
    shift = b - mean * scale;
    if (update) {
      rm[c] = T((1.0 - momentum) * double(rm[c]) + momentum * mean);
      rv[c] = T((1.0 - momentum) * double(rv[c]) + momentum * var * unbias);
    }
  };

  if (S == 1) {
    // (N, C): rows are samples, so accumulate all channels side by side, vectorised over C.
    const size_t channels = static_cast<size_t>(C);
    std::vector<double> sum(channels, 0.0), sumsq(channels, 0.0), scale(channels), shift(channels);
    double* su = sum.data();
    double* sq = sumsq.data();
    if (training) {
      const T* first = xp;
      for (int64_t n = 0; n < N; ++n) {
        const T* row = xp + n * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) {
          double d = double(row[c]) - double(first[c]);
          su[c] += d;
          sq[c] += d * d;
        }
      }
    }
    for (int64_t c = 0; c < C; ++c) {
      double mean, var;
      if (training) {
        finish_stats(su[c], sq[c], double(xp[c]), count, mean, var);
      } else {
        mean = double(rm[c]);
        var = double(rv[c]);
      }
      channel_map(c, mean, var, scale[size_t(c)], shift[size_t(c)]);
    }
    std::vector<T> sc(scale.begin(), scale.end()), sh(shift.begin(), shift.end());
    const T* scp = sc.data();
    const T* shp = sh.data();
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      const T* row = xp + n * C;
      T* out = yp + n * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) out[c] = row[c] * scp[c] + shp[c];
    }
    return;
  }

  // (N, C, S): one channel per task, its N planes of S contiguous values read once for the
  // statistics and again (from cache) for the output. Each channel's sums run in a fixed order,
  // so the result does not depend on the thread count.
#pragma omp parallel for schedule(static) if (N * C * S >= kParallelMin)
  for (int64_t c = 0; c < C; ++c) {
    double mean, var;
    if (training) {
      const double first = double(xp[c * S]);
      double sum = 0.0, sumsq = 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const T* plane = xp + (n * C + c) * S;
#pragma omp simd reduction(+ : sum, sumsq)
        for (int64_t i = 0; i < S; ++i) {
          double d = double(plane[i]) - first;
          sum += d;
          sumsq += d * d;
        }
      }
      finish_stats(sum, sumsq, first, count, mean, var);
    } else {
      mean = double(rm[c]);
      var = double(rv[c]);
    }
    double scale_d, shift_d;
    channel_map(c, mean, var, scale_d, shift_d);
    const T scale = T(scale_d), shift = T(shift_d);
    for (int64_t n = 0; n < N; ++n) {
      const T* plane = xp + (n * C + c) * S;
      T* out = yp + (n * C + c) * S;
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) out[i] = plane[i] * scale + shift;
    }
  }
}

// With xhat = (x - mean) * invstd:  grad_bias = sum(gy), grad_weight = sum(gy * xhat), and in training
// grad_x = w * invstd * (gy - mean(gy) - xhat * mean(gy * xhat)); in eval grad_x = w * invstd * gy.
// grad_x is written as the affine form gy * a + x * b + k, one fused pass.
template <class T>
void bn_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                 const Tensor& save_invstd, bool training, Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  const BnDims dims = bn_dims(x);  // not a structured binding: clang 14 cannot capture those in lambdas
  const int64_t N = dims.n, C = dims.c, S = dims.s;
  const T* gyp = grad_y.data<T>();
  const T* xp = x.data<T>();
  const T* wp = opt_data<T>(weight);
  const T* smp = save_mean.data<T>();
  const T* sip = save_invstd.data<T>();
  T* gxp = opt_mut<T>(grad_x);
  T* gwp = opt_mut<T>(grad_weight);
  T* gbp = opt_mut<T>(grad_bias);
  const double count = double(N * S);
  const bool need_sums = gwp || gbp || (gxp && training);

  // Coefficients of grad_x for channel c from its sums of gy and gy * (x - mean).
  auto coefficients = [&](int64_t c, double sum_gy, double sum_gy_xmu, double& a, double& b, double& k) {
    double mean = double(smp[c]), invstd = double(sip[c]);
    double w = wp ? double(wp[c]) : 1.0;
    a = w * invstd;
    if (training) {
      double proj = sum_gy_xmu * invstd * invstd / count;  // mean(gy * xhat) * invstd
      b = -a * proj;
      k = -a * (sum_gy / count) + a * proj * mean;
    } else {
      b = 0.0;
      k = 0.0;
    }
    if (gwp) gwp[c] = T(sum_gy_xmu * invstd);
    if (gbp) gbp[c] = T(sum_gy);
  };

  if (S == 1) {
    const size_t channels = static_cast<size_t>(C);
    std::vector<double> sgy(channels, 0.0), sgx(channels, 0.0);
    double* s1 = sgy.data();
    double* s2 = sgx.data();
    if (need_sums) {
      for (int64_t n = 0; n < N; ++n) {
        const T* g = gyp + n * C;
        const T* row = xp + n * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) {
          double gd = double(g[c]);
          s1[c] += gd;
          s2[c] += gd * (double(row[c]) - double(smp[c]));
        }
      }
    }
    std::vector<T> av(channels), bv(channels), kv(channels);
    for (int64_t c = 0; c < C; ++c) {
      double a, b, k;
      coefficients(c, s1[c], s2[c], a, b, k);
      av[size_t(c)] = T(a);
      bv[size_t(c)] = T(b);
      kv[size_t(c)] = T(k);
    }
    if (!gxp) return;
    const T* ap = av.data();
    const T* bp = bv.data();
    const T* kp = kv.data();
#pragma omp parallel for schedule(static) if (N * C >= kParallelMin)
    for (int64_t n = 0; n < N; ++n) {
      const T* g = gyp + n * C;
      const T* row = xp + n * C;
      T* out = gxp + n * C;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) out[c] = g[c] * ap[c] + row[c] * bp[c] + kp[c];
    }
    return;
  }

#pragma omp parallel for schedule(static) if (N * C * S >= kParallelMin)
  for (int64_t c = 0; c < C; ++c) {
    double sum_gy = 0.0, sum_gy_xmu = 0.0;
    if (need_sums) {
      const double mean = double(smp[c]);
      for (int64_t n = 0; n < N; ++n) {
        const T* g = gyp + (n * C + c) * S;
        const T* plane = xp + (n * C + c) * S;
#pragma omp simd reduction(+ : sum_gy, sum_gy_xmu)
        for (int64_t i = 0; i < S; ++i) {
          double gd = double(g[i]);
          sum_gy += gd;
          sum_gy_xmu += gd * (double(plane[i]) - mean);
        }
      }
    }
    double a_d, b_d, k_d;
    coefficients(c, sum_gy, sum_gy_xmu, a_d, b_d, k_d);
    if (!gxp) continue;
    const T a = T(a_d), b = T(b_d), k = T(k_d);
    for (int64_t n = 0; n < N; ++n) {
      const T* g = gyp + (n * C + c) * S;
      const T* plane = xp + (n * C + c) * S;
      T* out = gxp + (n * C + c) * S;
#pragma omp simd
      for (int64_t i = 0; i < S; ++i) out[i] = g[i] * a + plane[i] * b + k;
    }
  }
}

}  // namespace

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                    Tensor& running_var, bool training, double momentum, double eps, Tensor& y,
                                    Tensor& save_mean, Tensor& save_invstd) {
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    bn_forward<decltype(tag)>(x, weight, bias, running_mean, running_var, training, momentum, eps, y, save_mean,
                              save_invstd);
  });
}

void CpuBackend::batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight,
                                     const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                     Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto tag) {
    bn_backward<decltype(tag)>(grad_y, x, weight, save_mean, save_invstd, training, grad_x, grad_weight, grad_bias);
  });
}

}  // namespace ember
