// Folding CRC-32 with carry-less multiplication, after Gopal et al., "Fast CRC Computation for
// Generic Polynomials Using PCLMULQDQ Instruction" (Intel, 2009).
//
// The bytes are read as one long polynomial over GF(2), first bit highest (the "reflected" order
// CRC-32 uses, so bit i of a 16-byte lane stands for x^(127-i) counted from the lane's end). Lanes
// of 16 bytes are folded forward over the input: folding a lane forward by D bits multiplies it by
// x^D, done modulo P as two 64x32-bit carry-less products with the constants x^(D+32) mod P and
// x^(D-32) mod P (the 32 comes from where the product lands in the register). Folding keeps the
// polynomial's value modulo P, so the last lane followed by the unfolded tail has the same CRC as
// the whole input: zlib finishes those last few bytes.
//
// Two paths: four 16-byte lanes with PCLMULQDQ (any x86-64 from 2010 on), and sixteen lanes in four
// 64-byte registers with VPCLMULQDQ where AVX-512 has it. The CPU is asked once, at start-up.
#include "ember/io/crc32.h"

#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_CRC_FOLDING 1
#endif
// GCC 12's own _mm512_broadcast_i32x4 reads an uninitialised vector (GCC bug 105593), which
// -Wuninitialized reports at our call sites depending on inlining.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace ember::io {

uint32_t crc32_portable(uint32_t crc, const void* data, size_t n) {
  return uint32_t(::crc32_z(crc, static_cast<const Bytef*>(data), n));
}

uint32_t crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t length_b) {
  return uint32_t(::crc32_combine(crc_a, crc_b, z_off_t(length_b)));  // z_off_t is 64-bit on LP64
}

#ifdef EMBER_CRC_FOLDING
namespace {

// x^n mod P in CRC-32's bit order (bit k is the coefficient of x^(31-k)), shifted left by one so
// that a carry-less product lands on the register's bit order.
int64_t xpow_mod_p(int n) {
  uint32_t v = 0x80000000u;  // x^0
  for (int i = 0; i < n; ++i) v = (v >> 1) ^ ((v & 1) ? 0xEDB88320u : 0);
  return int64_t(uint64_t(v) << 1);
}

// The constants for folding a lane forward by d bits: low half x^(d+32), high half x^(d-32), mod P.
struct FoldBy {
  int64_t lo, hi;
  explicit FoldBy(int d) : lo(xpow_mod_p(d + 32)), hi(xpow_mod_p(d - 32)) {}
};
const FoldBy by128(128), by512(512), by2048(2048);

#define EMBER_TARGET_128 __attribute__((target("pclmul,sse4.1")))
#define EMBER_TARGET_512 __attribute__((target("pclmul,sse4.1,avx512f,vpclmulqdq")))

EMBER_TARGET_128 inline __m128i load(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

EMBER_TARGET_128 inline __m128i fold(__m128i lane, __m128i k, __m128i next) {
  __m128i lo = _mm_clmulepi64_si128(lane, k, 0x00);  // low 64 bits times x^(d+32)
  __m128i hi = _mm_clmulepi64_si128(lane, k, 0x11);  // high 64 bits times x^(d-32)
  return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

// Folds the four consecutive lanes x0..x3 into one, then the remaining whole lanes of the input, and
// lets zlib finish: the folded lane and the tail, from a zero register (zlib's crc argument ~0).
EMBER_TARGET_128 uint32_t finish(__m128i x0, __m128i x1, __m128i x2, __m128i x3, const uint8_t* p, size_t n) {
  const __m128i k = _mm_set_epi64x(by128.hi, by128.lo);
  x1 = fold(x0, k, x1);
  x2 = fold(x1, k, x2);
  x3 = fold(x2, k, x3);
  for (; n >= 16; p += 16, n -= 16) x3 = fold(x3, k, load(p));
  alignas(16) uint8_t rest[32];
  _mm_store_si128(reinterpret_cast<__m128i*>(rest), x3);
  for (size_t i = 0; i < n; ++i) rest[16 + i] = p[i];
  return crc32_portable(0xFFFFFFFFu, rest, 16 + n);
}

// n >= 64. The register's starting value ~crc is the same as XOR-ing it into the first four bytes.
EMBER_TARGET_128 uint32_t crc32_pclmul(uint32_t crc, const uint8_t* p, size_t n) {
  const __m128i k = _mm_set_epi64x(by512.hi, by512.lo);
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(int(~crc)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  for (p += 64, n -= 64; n >= 64; p += 64, n -= 64) {
    x0 = fold(x0, k, load(p));
    x1 = fold(x1, k, load(p + 16));
    x2 = fold(x2, k, load(p + 32));
    x3 = fold(x3, k, load(p + 48));
  }
  return finish(x0, x1, x2, x3, p, n);
}

EMBER_TARGET_512 inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }

EMBER_TARGET_512 inline __m512i fold512(__m512i lanes, __m512i k, __m512i next) {
  __m512i lo = _mm512_clmulepi64_epi128(lanes, k, 0x00);
  __m512i hi = _mm512_clmulepi64_epi128(lanes, k, 0x11);
  return _mm512_ternarylogic_epi64(lo, hi, next, 0x96);  // lo ^ hi ^ next
}

// n >= 256: four registers of four lanes fold forward by 256 bytes, then into one register.
EMBER_TARGET_512 uint32_t crc32_vpclmul(uint32_t crc, const uint8_t* p, size_t n) {
  const __m512i k4 = _mm512_broadcast_i32x4(_mm_set_epi64x(by2048.hi, by2048.lo));
  const __m512i k1 = _mm512_broadcast_i32x4(_mm_set_epi64x(by512.hi, by512.lo));
  __m512i z0 = _mm512_xor_si512(load512(p), _mm512_castsi128_si512(_mm_cvtsi32_si128(int(~crc))));
  __m512i z1 = load512(p + 64), z2 = load512(p + 128), z3 = load512(p + 192);
  for (p += 256, n -= 256; n >= 256; p += 256, n -= 256) {
    z0 = fold512(z0, k4, load512(p));
    z1 = fold512(z1, k4, load512(p + 64));
    z2 = fold512(z2, k4, load512(p + 128));
    z3 = fold512(z3, k4, load512(p + 192));
  }
  z1 = fold512(z0, k1, z1);
  z2 = fold512(z1, k1, z2);
  z3 = fold512(z2, k1, z3);
  return finish(_mm512_extracti32x4_epi32(z3, 0), _mm512_extracti32x4_epi32(z3, 1), _mm512_extracti32x4_epi32(z3, 2),
                _mm512_extracti32x4_epi32(z3, 3), p, n);
}

const bool has_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
const bool has_vpclmul = has_pclmul && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq");

}  // namespace
#endif

uint32_t crc32(uint32_t crc, const void* data, size_t n) {
#ifdef EMBER_CRC_FOLDING
  const auto* p = static_cast<const uint8_t*>(data);
  if (n >= 1024 && has_vpclmul) return crc32_vpclmul(crc, p, n);
  if (n >= 128 && has_pclmul) return crc32_pclmul(crc, p, n);
#endif
  return crc32_portable(crc, data, n);
}

}  // namespace ember::io
