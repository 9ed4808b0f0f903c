// Batch normalisation kernels, mirroring core/cpu/norm.cpp: x is viewed as (N, C, S) with S = H * W
// (S = 1 for a 2-D input). One block per channel: its threads accumulate the channel's sums in
// double (shifted by the channel's first value, as the CPU), a fixed block tree combines them, the
// first thread turns them into the statistics and the affine map, and the block writes the output.
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

constexpr int kBnThreads = 256;

struct BnDims {
  int64_t n, c, s;
  __host__ __device__ int64_t count() const { return n * s; }
  // Address of the e-th value (e in [0, N * S)) of channel c.
  __device__ int64_t at(int64_t c_, int64_t e) const { return ((e / s) * c + c_) * s + e % s; }
};

BnDims bn_dims(const Tensor& x) {
  const Shape& sh = x.shape();
  int64_t s = 1;
  for (size_t d = 2; d < sh.size(); ++d) s *= sh[d];
  return {sh[0], sh[1], s};
}

template <class T>
__global__ void bn_forward_kernel(const T* x, const T* weight, const T* bias, T* running_mean, T* running_var,
                                  bool training, bool update, double momentum, double eps, BnDims d, T* y,
                                  T* save_mean, T* save_invstd) {
  __shared__ double shared[32];
  __shared__ T affine[2];
  const int64_t c = blockIdx.x;
  const int64_t count = d.count();
  double mean = 0, var = 0;
  if (training) {
    const double shift = double(x[c * d.s]);
    double sum = 0, sumsq = 0;
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
      const double v = double(x[d.at(c, e)]) - shift;
      sum += v;
      sumsq += v * v;
    }
    sum = cuda::block_sum(sum, shared);
    sumsq = cuda::block_sum(sumsq, shared);
    const double m = sum / double(count);
    mean = shift + m;
    var = fmax(sumsq / double(count) - m * m, 0.0);
  } else {
    mean = double(running_mean[c]);
    var = double(running_var[c]);
  }
  if (threadIdx.x == 0) {
    const double invstd = 1.0 / sqrt(var + eps);
    save_mean[c] = T(mean);
    save_invstd[c] = T(invstd);
    const double w = weight ? double(weight[c]) : 1.0, b = bias ? double(bias[c]) : 0.0;
    const double scale = w * invstd;
    affine[0] = T(scale);
    affine[1] = T(b - mean * scale);
    if (update) {
      const double unbias = count > 1 ? double(count) / double(count - 1) : 1.0;
      running_mean[c] = T((1.0 - momentum) * double(running_mean[c]) + momentum * mean);
      running_var[c] = T((1.0 - momentum) * double(running_var[c]) + momentum * var * unbias);
    }
  }
  __syncthreads();
  const T scale = affine[0], shift = affine[1];
  for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
    const int64_t i = d.at(c, e);
    y[i] = x[i] * scale + shift;
  }
}

// With xhat = (x - mean) * invstd: grad_bias = sum(gy), grad_weight = sum(gy * xhat), and
// grad_x = gy * a + x * b + k with a = w * invstd and, in training, the terms of the batch statistics.
template <class T>
__global__ void bn_backward_kernel(const T* gy, const T* x, const T* weight, const T* save_mean, const T* save_invstd,
                                   bool training, bool need_sums, BnDims d, T* gx, T* grad_weight, T* grad_bias) {
  __shared__ double shared[32];
  __shared__ T coef[3];
  const int64_t c = blockIdx.x;
  const int64_t count = d.count();
  const double mean = double(save_mean[c]), invstd = double(save_invstd[c]);
  double sum_gy = 0, sum_gy_xmu = 0;
  if (need_sums) {
    for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
      const int64_t i = d.at(c, e);
      const double g = double(gy[i]);
      sum_gy += g;
      sum_gy_xmu += g * (double(x[i]) - mean);
    }
    sum_gy = cuda::block_sum(sum_gy, shared);
    sum_gy_xmu = cuda::block_sum(sum_gy_xmu, shared);
  }
  if (threadIdx.x == 0) {
    const double w = weight ? double(weight[c]) : 1.0;
    const double a = w * invstd;
    double b = 0, k = 0;
    if (training) {
      const double proj = sum_gy_xmu * invstd * invstd / double(count);  // mean(gy * xhat) * invstd
      b = -a * proj;
      k = -a * (sum_gy / double(count)) + a * proj * mean;
    }
    if (grad_weight) grad_weight[c] = T(sum_gy_xmu * invstd);
    if (grad_bias) grad_bias[c] = T(sum_gy);
    coef[0] = T(a);
    coef[1] = T(b);
    coef[2] = T(k);
  }
  if (!gx) return;
  __syncthreads();
  const T a = coef[0], b = coef[1], k = coef[2];
  for (int64_t e = threadIdx.x; e < count; e += blockDim.x) {
    const int64_t i = d.at(c, e);
    gx[i] = gy[i] * a + x[i] * b + k;
  }
}

template <class T> const T* opt(const Tensor& t) { return t.defined() ? static_cast<const T*>(t.raw_data()) : nullptr; }
template <class T> T* opt_mut(const Tensor& t) { return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr; }

}  // namespace

void CudaBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                     Tensor& running_var, bool training, double momentum, double eps, Tensor& y,
                                     Tensor& save_mean, Tensor& save_invstd) {
  cuda::Scope scope(*ctx_, "batch_norm_forward");
  const BnDims d = bn_dims(x);
  const bool have_running = running_mean.defined() && running_var.defined();
  EMBER_CHECK(training || have_running, "batch_norm: running_mean and running_var must be defined in eval mode");
  if (d.c == 0) return;
  dispatch_floating(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    bn_forward_kernel<T><<<unsigned(d.c), kBnThreads, 0, ctx_->stream>>>(
        opt<T>(x), opt<T>(weight), opt<T>(bias), opt_mut<T>(running_mean), opt_mut<T>(running_var), training,
        training && have_running, momentum, eps, d, opt_mut<T>(y), opt_mut<T>(save_mean), opt_mut<T>(save_invstd));
  });
  EMBER_CUDA_LAUNCHED("bn_forward_kernel");
}

void CudaBackend::batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight,
                                      const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                      Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) {
  cuda::Scope scope(*ctx_, "batch_norm_backward");
  const BnDims d = bn_dims(x);
  if (d.c == 0) return;
  const bool need_sums = grad_weight.defined() || grad_bias.defined() || (grad_x.defined() && training);
  dispatch_floating(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    bn_backward_kernel<T><<<unsigned(d.c), kBnThreads, 0, ctx_->stream>>>(
        opt<T>(grad_y), opt<T>(x), opt<T>(weight), opt<T>(save_mean), opt<T>(save_invstd), training, need_sums, d,
        opt_mut<T>(grad_x), opt_mut<T>(grad_weight), opt_mut<T>(grad_bias));
  });
  EMBER_CUDA_LAUNCHED("bn_backward_kernel");
}

}  // namespace ember
