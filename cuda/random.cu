// Random fills from Philox, draw for draw as core/cpu/random.cpp fills in element order: element i
// of a float32 uniform takes the word at offset + i (next_float), of a float64 uniform the words at
// offset + 2i, 2i + 1 (next_double), of a normal the four at offset + 4i (two next_double, Box-Muller).
// The arithmetic is the CPU's in double, rounded where GCC rounds it (low + span * u is one FMA, see
// kernels.cuh), so uniform fills are the CPU's bits; normal fills may differ in the last bit of
// CUDA's log and cos (rarely visible after rounding to float32).
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

// next_double() at stream position pos: (hi << 32 | lo) >> 11, times 2^-53.
__device__ __forceinline__ double uniform_double(uint64_t seed, uint64_t pos) {
  const uint64_t hi = cuda::philox_word(seed, pos), lo = cuda::philox_word(seed, pos + 1);
  return double(((hi << 32) | lo) >> 11) * 0x1.0p-53;
}

template <class T>
__global__ void uniform_kernel(uint64_t seed, uint64_t offset, int64_t n, double low, double span, T* out) {
  EMBER_KERNEL_LOOP(i, n) {
    double u;
    if constexpr (sizeof(T) == 4) u = double(float(cuda::philox_word(seed, offset + uint64_t(i)) >> 8) * 0x1.0p-24f);
    else u = uniform_double(seed, offset + 2 * uint64_t(i));
    out[i] = T(__fma_rn(span, u, low));
  }
}

template <class T>
__global__ void normal_kernel(uint64_t seed, uint64_t offset, int64_t n, double mean, double std, T* out) {
  EMBER_KERNEL_LOOP(i, n) {
    const uint64_t pos = offset + 4 * uint64_t(i);
    double u1 = uniform_double(seed, pos);
    const double u2 = uniform_double(seed, pos + 2);
    if (u1 < 1e-300) u1 = 1e-300;  // log(0) guard
    const double r = __dmul_rn(sqrt(__dmul_rn(-2.0, log(u1))), cos(__dmul_rn(2.0 * 3.14159265358979323846, u2)));
    out[i] = T(__fma_rn(std, r, mean));
  }
}

}  // namespace

void CudaBackend::uniform(Tensor& out, double low, double high, Generator& gen) {
  const GeneratorState state = gen.state();
  const int64_t n = out.numel();
  const uint64_t per = out.dtype() == kFloat64 ? 2 : 1;
  if (n > 0) {
    cuda::Scope scope(*ctx_, "uniform");
    dispatch_floating(out.dtype(), "uniform_", [&](auto tag) {
      using T = decltype(tag);
      uniform_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, ctx_->stream>>>(state.seed, state.offset, n, low,
                                                                                 high - low, static_cast<T*>(out.raw_data()));
    });
    EMBER_CUDA_LAUNCHED("uniform_kernel");
  }
  gen.set_state({state.seed, state.offset + per * uint64_t(n)});
}

void CudaBackend::normal(Tensor& out, double mean, double std, Generator& gen) {
  const GeneratorState state = gen.state();
  const int64_t n = out.numel();
  if (n > 0) {
    cuda::Scope scope(*ctx_, "normal");
    dispatch_floating(out.dtype(), "normal_", [&](auto tag) {
      using T = decltype(tag);
      normal_kernel<T><<<cuda::grid_for(n), cuda::kThreads, 0, ctx_->stream>>>(state.seed, state.offset, n, mean, std,
                                                                                static_cast<T*>(out.raw_data()));
    });
    EMBER_CUDA_LAUNCHED("normal_kernel");
  }
  gen.set_state({state.seed, state.offset + 4 * uint64_t(n)});
}

}  // namespace ember
