// log_softmax and nll_loss kernels on (N, K) rows, mirroring core/cpu/loss.cpp; sums run in double.
// log_softmax takes one warp per row. nll_loss sums its N terms in one block (fixed order).
//
// A target outside [0, K) cannot throw from a kernel: nll_loss_forward writes the first bad one to
// the context's error slot and a nan loss, and the error is thrown at the next synchronisation of
// the device (loss.item(), any copy to the host, cuda::synchronize()), with the CPU's message.
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

constexpr int kRowsPerBlock = 8;  // warps per block, one row each
constexpr int kNllThreads = 512;

// x: (N, K) -> y: (N, K), y = (x - max) - log(sum(exp(x - max))) per row
template <class T>
__global__ void log_softmax_kernel(const T* x, T* y, int64_t n, int64_t k) {
  const int lane = threadIdx.x & 31;
  for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5); row < n;
       row += int64_t(gridDim.x) * kRowsPerBlock) {
    const T* xr = x + row * k;
    T* yr = y + row * k;
    T m = -cuda::infinity<T>();
    for (int64_t j = lane; j < k; j += 32) m = m < xr[j] ? xr[j] : m;  // std::max: a NaN never wins
    for (int offset = 16; offset > 0; offset >>= 1) {
      const T other = __shfl_xor_sync(0xffffffffu, m, offset);
      m = m < other ? other : m;
    }
    if (!isfinite(double(m))) m = T(0);  // a row of -inf (or with +inf/nan) propagates as the math does
    double s = 0;
    for (int64_t j = lane; j < k; j += 32) s += exp(double(xr[j] - m));
    s = cuda::warp_sum(s);
    const T log_sum = T(log(s));
    for (int64_t j = lane; j < k; j += 32) yr[j] = (xr[j] - m) - log_sum;
  }
}

// grad_x = grad_y - exp(y) * sum(grad_y) per row
template <class T>
__global__ void log_softmax_backward_kernel(const T* gy, const T* y, T* gx, int64_t n, int64_t k) {
  const int lane = threadIdx.x & 31;
  for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5); row < n;
       row += int64_t(gridDim.x) * kRowsPerBlock) {
    const T* g = gy + row * k;
    const T* yr = y + row * k;
    T* out = gx + row * k;
    double s = 0;
    for (int64_t j = lane; j < k; j += 32) s += double(g[j]);
    const T st = T(cuda::warp_sum(s));
    for (int64_t j = lane; j < k; j += 32) out[j] = g[j] - cuda::dexp(yr[j]) * st;
  }
}

// logp: (N, K), target int64 (N) -> loss: scalar, -mean_i logp[i, target[i]]
template <class T>
__global__ void nll_forward_kernel(const T* logp, const int64_t* target, int64_t n, int64_t k, T* loss,
                                   int64_t* error) {
  __shared__ double shared[32];
  __shared__ int64_t bad_shared[32];
  double acc = 0;
  int64_t bad = n;  // first row with a bad target (n: none)
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const int64_t t = target[i];
    if (t < 0 || t >= k) bad = bad < i ? bad : i;
    else acc -= double(logp[i * k + t]);
  }
  acc = cuda::block_sum(acc, shared);
  for (int offset = 16; offset > 0; offset >>= 1) {
    const int64_t other = __shfl_xor_sync(0xffffffffu, bad, offset);
    bad = bad < other ? bad : other;
  }
  if ((threadIdx.x & 31) == 0) bad_shared[threadIdx.x >> 5] = bad;
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int w = 1; w < int(blockDim.x >> 5); ++w) bad = bad < bad_shared[w] ? bad : bad_shared[w];
  if (bad < n) {
    loss[0] = T(nan(""));
    if (error[0] == cuda::kNoError) {  // the first error stands until it is reported
      error[1] = bad;
      error[2] = target[bad];
      error[3] = k;
      __threadfence_system();
      error[0] = cuda::kNllTarget;
    }
    return;
  }
  loss[0] = T(acc / double(n));  // n = 0 gives nan, as PyTorch
}

// grad_loss: scalar -> grad_logp: (N, K), -grad_loss / N at [i, target[i]], 0 elsewhere
template <class T>
__global__ void nll_backward_kernel(const T* grad_loss, const int64_t* target, T* grad_logp, int64_t n, int64_t k) {
  EMBER_KERNEL_LOOP(idx, n * k) {
    const int64_t i = idx / k, j = idx % k;
    grad_logp[idx] = target[i] == j ? T(-double(grad_loss[0]) / double(n)) : T(0);
  }
}

unsigned row_blocks(int64_t n) {
  return unsigned(std::clamp<int64_t>((n + kRowsPerBlock - 1) / kRowsPerBlock, 1, int64_t(1) << 20));
}

}  // namespace

void CudaBackend::log_softmax_forward(const Tensor& x, Tensor& y) {
  const int64_t n = x.size(0), k = x.size(1);
  if (n == 0 || k == 0) return;
  cuda::Scope scope(*ctx_, "log_softmax_forward");
  dispatch_floating(x.dtype(), "log_softmax", [&](auto tag) {
    using T = decltype(tag);
    log_softmax_kernel<T><<<row_blocks(n), 32 * kRowsPerBlock, 0, ctx_->stream>>>(
        static_cast<const T*>(x.raw_data()), static_cast<T*>(y.raw_data()), n, k);
  });
  EMBER_CUDA_LAUNCHED("log_softmax_kernel");
}

void CudaBackend::log_softmax_backward(const Tensor& grad_y, const Tensor& y, Tensor& grad_x) {
  const int64_t n = y.size(0), k = y.size(1);
  if (n == 0 || k == 0) return;
  cuda::Scope scope(*ctx_, "log_softmax_backward");
  dispatch_floating(y.dtype(), "log_softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    log_softmax_backward_kernel<T><<<row_blocks(n), 32 * kRowsPerBlock, 0, ctx_->stream>>>(
        static_cast<const T*>(grad_y.raw_data()), static_cast<const T*>(y.raw_data()),
        static_cast<T*>(grad_x.raw_data()), n, k);
  });
  EMBER_CUDA_LAUNCHED("log_softmax_backward_kernel");
}

void CudaBackend::nll_loss_forward(const Tensor& logp, const Tensor& target, Tensor& loss) {
  cuda::Scope scope(*ctx_, "nll_loss_forward");
  const int64_t n = logp.size(0), k = logp.size(1);
  dispatch_floating(logp.dtype(), "nll_loss", [&](auto tag) {
    using T = decltype(tag);
    nll_forward_kernel<T><<<1, kNllThreads, 0, ctx_->stream>>>(static_cast<const T*>(logp.raw_data()),
                                                               target.data<int64_t>(), n, k,
                                                               static_cast<T*>(loss.raw_data()), ctx_->error_device);
  });
  EMBER_CUDA_LAUNCHED("nll_forward_kernel");
}

void CudaBackend::nll_loss_backward(const Tensor& grad_loss, const Tensor& target, Tensor& grad_logp) {
  const int64_t n = grad_logp.size(0), k = grad_logp.size(1);
  if (n == 0 || k == 0) return;
  cuda::Scope scope(*ctx_, "nll_loss_backward");
  dispatch_floating(grad_logp.dtype(), "nll_loss_backward", [&](auto tag) {
    using T = decltype(tag);
    nll_backward_kernel<T><<<cuda::grid_for(n * k), cuda::kThreads, 0, ctx_->stream>>>(
        static_cast<const T*>(grad_loss.raw_data()), target.data<int64_t>(), static_cast<T*>(grad_logp.raw_data()), n,
        k);
  });
  EMBER_CUDA_LAUNCHED("nll_backward_kernel");
}

}  // namespace ember
