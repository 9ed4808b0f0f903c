#pragma once
// Device-side helpers shared by the .cu files: grid-stride loops, fixed-order (deterministic) warp
// and block sums, arithmetic that the compiler may not fuse, math overloads, and Philox.
#include <algorithm>
#include <cstdint>

#include "ember/cuda/context.h"

// for (i in [0, n)) spread over the whole grid.
#define EMBER_KERNEL_LOOP(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

namespace ember::cuda {

// Sum over the warp by a fixed butterfly: the same order on every run, so the same bits.
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over a block of blockDim.x threads (a multiple of 32, at most 1024); the result is valid in
// every thread. `shared` holds 32 values. Fixed order: deterministic.
template <class T>
__device__ __forceinline__ T block_sum(T v, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = lane < warps ? shared[lane] : T(0);
  return warp_sum(total);
}

// Explicit rounding, so that a kernel rounds where the CPU reference does. GCC compiles the CPU
// kernels with FMA contraction (-march=native on a machine with FMA, the default build): where the
// CPU computes y + a * x in one expression (axpy), the GPU uses fma_rn; where the CPU rounds a
// product in one kernel and adds it in another, the GPU uses mul_rn then add_rn, which nvcc will not
// contract. Without FMA on the CPU (EMBER_NATIVE=OFF) the two differ by an ulp at most.
__device__ __forceinline__ float fma_rn(float a, float x, float y) { return __fmaf_rn(a, x, y); }
__device__ __forceinline__ double fma_rn(double a, double x, double y) { return __fma_rn(a, x, y); }
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
// Integers have no rounding.
__device__ __forceinline__ int64_t mul_rn(int64_t a, int64_t b) { return a * b; }
__device__ __forceinline__ int64_t add_rn(int64_t a, int64_t b) { return a + b; }
__device__ __forceinline__ uint8_t mul_rn(uint8_t a, uint8_t b) { return uint8_t(a * b); }
__device__ __forceinline__ uint8_t add_rn(uint8_t a, uint8_t b) { return uint8_t(a + b); }
__device__ __forceinline__ int64_t fma_rn(int64_t a, int64_t x, int64_t y) { return a * x + y; }
__device__ __forceinline__ uint8_t fma_rn(uint8_t a, uint8_t x, uint8_t y) { return uint8_t(a * x + y); }

__device__ __forceinline__ float dexp(float x) { return expf(x); }
__device__ __forceinline__ double dexp(double x) { return exp(x); }
__device__ __forceinline__ float dlog(float x) { return logf(x); }
__device__ __forceinline__ double dlog(double x) { return log(x); }
__device__ __forceinline__ float dsqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double dsqrt(double x) { return sqrt(x); }
template <class T> __device__ __forceinline__ T infinity() { return T(1) / T(0); }

// Philox4x32-10, word for word as Generator::philox in core/generator.cpp.
struct Philox4 {
  uint32_t w[4];
};
__device__ __forceinline__ Philox4 philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c0 = n0;
    c1 = uint32_t(p1);
    c2 = n2;
    c3 = uint32_t(p0);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// The 32-bit value at position `offset` of the stream of (seed): what the offset-th next_u32() returns.
__device__ __forceinline__ uint32_t philox_word(uint64_t seed, uint64_t offset) {
  return philox(seed, offset / 4).w[offset % 4];
}

}  // namespace ember::cuda
