// log_softmax and nll_loss kernels on (N, K) rows; sums run in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {
namespace {

constexpr int64_t kParallelMin = 1 << 15;

// x: (N, K) -> y: (N, K), y = (x - max) - log(sum(exp(x - max))) per row (stable for large logits).
template <class T>
void log_softmax_rows(const Tensor& x, Tensor& y) {
  const int64_t N = x.size(0), K = x.size(1);
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
#pragma omp parallel for schedule(static) if (N * K >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* row = xp + n * K;
    T* out = yp + n * K;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t k = 0; k < K; ++k) m = std::max(m, row[k]);
    if (!std::isfinite(m)) m = 0;  // a row of -inf (or with +inf/nan) propagates as the math does
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(double(row[k] - m));
    // (x - max) is exact near the max; adding max back into the log-sum first would round at its scale.
    const T log_sum = T(std::log(s));
#pragma omp simd
    for (int64_t k = 0; k < K; ++k) out[k] = (row[k] - m) - log_sum;
  }
}

// grad_x = grad_y - exp(y) * sum(grad_y) per row.   all: (N, K)
template <class T>
void log_softmax_rows_backward(const Tensor& grad_y, const Tensor& y, Tensor& grad_x) {
  const int64_t N = y.size(0), K = y.size(1);
  const T* gp = grad_y.data<T>();
  const T* yp = y.data<T>();
  T* gxp = grad_x.data<T>();
#pragma omp parallel for schedule(static) if (N * K >= kParallelMin)
  for (int64_t n = 0; n < N; ++n) {
    const T* g = gp + n * K;
    const T* row = yp + n * K;
    T* out = gxp + n * K;
    double s = 0.0;
    for (int64_t k = 0; k < K; ++k) s += double(g[k]);
    const T st = T(s);
    for (int64_t k = 0; k < K; ++k) out[k] = g[k] - std::exp(row[k]) * st;
  }
}

inline void check_target(int64_t t, int64_t index, int64_t K) {
  EMBER_CHECK(t >= 0 && t < K, "nll_loss: target ", t, " at index ", index, " is out of range [0, ", K, ")");
}

// logp: (N, K), target int64 (N) -> loss: scalar, -mean_i logp[i, target[i]].
template <class T>
void nll_forward(const Tensor& logp, const Tensor& target, Tensor& loss) {
  const int64_t N = logp.size(0), K = logp.size(1);
  const T* lp = logp.data<T>();
  const int64_t* tp = target.data<int64_t>();
  double acc = 0.0;
  for (int64_t i = 0; i < N; ++i) {
    check_target(tp[i], i, K);
    acc -= double(lp[i * K + tp[i]]);
  }
  loss.data<T>()[0] = T(acc / double(N));  // N = 0 gives nan, as PyTorch
}

// grad_loss: scalar -> grad_logp: (N, K), -grad_loss / N at [i, target[i]], 0 elsewhere.
template <class T>
void nll_backward(const Tensor& grad_loss, const Tensor& target, Tensor& grad_logp) {
  const int64_t N = grad_logp.size(0), K = grad_logp.size(1);
  const int64_t* tp = target.data<int64_t>();
  T* gp = grad_logp.data<T>();
  const T g = T(-double(grad_loss.data<T>()[0]) / double(N));
  std::fill(gp, gp + N * K, T(0));
  for (int64_t i = 0; i < N; ++i) {
    check_target(tp[i], i, K);
    gp[i * K + tp[i]] = g;
  }
}

}  // namespace

void CpuBackend::log_softmax_forward(const Tensor& x, Tensor& y) {
  dispatch_floating(x.dtype(), "log_softmax", [&](auto tag) { log_softmax_rows<decltype(tag)>(x, y); });
}

void CpuBackend::log_softmax_backward(const Tensor& grad_y, const Tensor& y, Tensor& grad_x) {
  dispatch_floating(y.dtype(), "log_softmax_backward",
                    [&](auto tag) { log_softmax_rows_backward<decltype(tag)>(grad_y, y, grad_x); });
}

void CpuBackend::nll_loss_forward(const Tensor& logp, const Tensor& target, Tensor& loss) {
  dispatch_floating(logp.dtype(), "nll_loss", [&](auto tag) { nll_forward<decltype(tag)>(logp, target, loss); });
}

void CpuBackend::nll_loss_backward(const Tensor& grad_loss, const Tensor& target, Tensor& grad_logp) {
  dispatch_floating(grad_logp.dtype(), "nll_loss_backward",
                    [&](auto tag) { nll_backward<decltype(tag)>(grad_loss, target, grad_logp); });
}

}  // namespace ember
