// Dropout masks. Element i takes the 32-bit Philox value at the generator's offset + i (one value
// per element, whatever the dtype), so the mask is fixed by the generator's state, equals what
// sequential next_float() draws would give, and can be filled in parallel without changing it.
#include <algorithm>
#include <array>
#include <cmath>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {
namespace {

constexpr int64_t kParallelMin = 1 << 15;
constexpr int64_t kLanes = 16;           // Philox blocks computed side by side (vectorised over lanes)
constexpr int64_t kChunk = 4 * 4096;     // elements per parallel task

// Generator::philox for blocks first, first + 1, ..., first + kLanes - 1 at once: words[4 * l + j]
// is word j of block first + l. Same rounds and constants as core/generator.cpp (the tests replay it).
void philox_lanes(uint64_t seed, uint64_t first, uint32_t* words) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) {
    uint64_t counter = first + uint64_t(l);
    c0[l] = uint32_t(counter);
    c1[l] = uint32_t(counter >> 32);
    c2[l] = 0;
    c3[l] = 0;
  }
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) {
      uint64_t p0 = uint64_t(0xD2511F53u) * c0[l];
      uint64_t p1 = uint64_t(0xCD9E8D57u) * c2[l];
      uint32_t n0 = uint32_t(p1 >> 32) ^ c1[l] ^ k0;
      uint32_t n2 = uint32_t(p0 >> 32) ^ c3[l] ^ k1;
      c0[l] = n0;
      c1[l] = uint32_t(p1);
      c2[l] = n2;
      c3[l] = uint32_t(p0);
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int64_t l = 0; l < kLanes; ++l) {
    words[4 * l + 0] = c0[l];
    words[4 * l + 1] = c1[l];
    words[4 * l + 2] = c2[l];
    words[4 * l + 3] = c3[l];
  }
}

// out[i] for i in [start, end): the value at stream offset base + i decides element i.
template <class T>
void fill_range(const GeneratorState& state, uint32_t threshold, T keep, T* out, int64_t start, int64_t end) {
  uint32_t words[4 * kLanes];
  const uint64_t lo = state.offset + uint64_t(start), hi = state.offset + uint64_t(end);
  for (uint64_t block = lo / 4; block * 4 < hi; block += kLanes) {
    philox_lanes(state.seed, block, words);
    const uint64_t first = block * 4;  // stream offset of words[0]
    const uint64_t from = std::max(first, lo), to = std::min(first + 4 * kLanes, hi);
    T* dst = out + int64_t(from - state.offset);
    const uint32_t* src = words + (from - first);
    const int64_t count = int64_t(to - from);
#pragma omp simd
    for (int64_t i = 0; i < count; ++i) dst[i] = (src[i] >> 8) >= threshold ? keep : T(0);
  }
}

template <class T>
void fill_mask(double p, const GeneratorState& state, T* out, int64_t count) {
  // u = (bits >> 8) * 2^-24 as next_float(); u >= p  <=>  (bits >> 8) >= ceil(p * 2^24).
  const double scaled = std::ceil(p * 0x1.0p24);
  const uint32_t threshold = uint32_t(std::min(scaled, 0x1.0p24));  // p = 1: nothing passes
  const T keep = p < 1.0 ? T(1.0 / (1.0 - p)) : T(0);
  const int64_t tasks = (count + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (count >= kParallelMin)
  for (int64_t t = 0; t < tasks; ++t)
    fill_range(state, threshold, keep, out, t * kChunk, std::min(count, (t + 1) * kChunk));
}

}  // namespace

// mask: any shape, float dtype -> 0 with probability p, else 1 / (1 - p); advances gen by numel draws.
void CpuBackend::dropout_mask(double p, Generator& gen, Tensor& mask) {
  EMBER_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability has to be between 0 and 1, but got ", p);
  const GeneratorState state = gen.state();
  const int64_t count = mask.numel();
  dispatch_floating(mask.dtype(), "dropout", [&](auto tag) {
    fill_mask<decltype(tag)>(p, state, mask.data<decltype(tag)>(), count);
  });
  gen.set_state({state.seed, state.offset + uint64_t(count)});
}

}  // namespace ember
