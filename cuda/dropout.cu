// Dropout masks from Philox, value for value as core/cpu/dropout.cpp: element i takes the 32-bit
// word at the generator's offset + i, so a generator state fixes the mask on either device (the
// GPU's mask equals the CPU's), and saving and restoring the state replays it exactly.
#include <cmath>

#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

// One thread per Philox block (4 words) that overlaps [offset, offset + count).
template <class T>
__global__ void dropout_mask_kernel(uint64_t seed, uint64_t offset, int64_t count, uint32_t threshold, T keep,
                                    T* out) {
  const uint64_t first_block = offset / 4;
  const uint64_t end = offset + uint64_t(count);
  const int64_t blocks = int64_t((end + 3) / 4 - first_block);
  EMBER_KERNEL_LOOP(b, blocks) {
    const uint64_t block = first_block + uint64_t(b);
    const cuda::Philox4 r = cuda::philox(seed, block);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const uint64_t pos = block * 4 + uint64_t(j);
      if (pos >= offset && pos < end) out[pos - offset] = (r.w[j] >> 8) >= threshold ? keep : T(0);
    }
  }
}

}  // namespace

// mask: any shape, float dtype -> 0 with probability p, else 1 / (1 - p); advances gen by numel draws
void CudaBackend::dropout_mask(double p, Generator& gen, Tensor& mask) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, but got ", p);
  const GeneratorState state = gen.state();
  const int64_t count = mask.numel();
  if (count > 0) {
    cuda::Scope scope(*ctx_, "dropout_mask");
    // u = (bits >> 8) * 2^-24 as next_float(); u >= p  <=>  (bits >> 8) >= ceil(p * 2^24).
    const uint32_t threshold = uint32_t(std::min(std::ceil(p * 0x1.0p24), 0x1.0p24));
    const int64_t blocks = int64_t((state.offset + uint64_t(count) + 3) / 4 - state.offset / 4);
    dispatch_floating(mask.dtype(), "dropout", [&](auto tag) {
      using T = decltype(tag);
      const T keep = p < 1.0 ? T(1.0 / (1.0 - p)) : T(0);
      dropout_mask_kernel<T><<<cuda::grid_for(blocks), cuda::kThreads, 0, ctx_->stream>>>(
          state.seed, state.offset, count, threshold, keep, static_cast<T*>(mask.raw_data()));
    });
    EMBER_CUDA_LAUNCHED("dropout_mask_kernel");
  }
  gen.set_state({state.seed, state.offset + uint64_t(count)});
}

}  // namespace ember
