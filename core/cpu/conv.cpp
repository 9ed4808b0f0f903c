// conv2d kernels: direct convolution on register tiles of 32-byte vectors (GCC/Clang vector
// extensions: ymm registers with AVX, pairs of xmm without). For MNIST-sized layers this runs near
// the FMA peak, several times faster than im2col + GEMM, whose packing dominates at these sizes.
//
// Each sample's input is first copied into a zero-padded, stride-phase-split scratch
//   xs[c][r][ph][q] = x_padded[c][r][q * sw + ph]
// so that for every kernel tap the inputs of consecutive output columns are consecutive in memory,
// whatever the stride and padding. Output rows are computed in vectors of L lanes; the lanes past
// the row's end are computed on zeros (or masked) and never stored.
//
// The batch is cut into a fixed number of chunks (kChunks, or one per thread beyond that) that the
// threads take dynamically, so a thread the OS pauses does not hold the others up. grad_w and
// grad_b are summed per chunk and the chunks reduced in order: results are bit-identical from run
// to run, and across thread counts up to kChunks.
//
// In builds with oneDNN, float32 shapes that dnnl_conv::chosen() picks run there instead (see
// dnnl_conv.cpp); these kernels are then the reference its tests compare against.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/cpu/dnnl_conv.h"
#include "ember/core/parallel.h"

// These vectors only pass between functions of this file; GCC's note that their ABI differs with
// and without AVX does not concern us.
#if defined(__GNUC__)  // GCC and Clang
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace ember {

namespace {

// ---- vectors ----
template <class T> struct VecOf;
template <> struct VecOf<float> {
  typedef float type __attribute__((vector_size(32)));
  typedef int32_t mask __attribute__((vector_size(32)));
};
template <> struct VecOf<double> {
  typedef double type __attribute__((vector_size(32)));
  typedef int64_t mask __attribute__((vector_size(32)));
};
template <class T> using Vec = typename VecOf<T>::type;
template <class T> using Mask = typename VecOf<T>::mask;
template <class T> constexpr int kLanes = int(32 / sizeof(T));

template <class T> inline Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class T> inline void store(T* p, Vec<T> v) { std::memcpy(p, &v, sizeof v); }
// Stores the first n lanes.
template <class T> inline void store_n(T* p, Vec<T> v, int n) { std::memcpy(p, &v, size_t(n) * sizeof(T)); }

// Keeps v in a register. Without it the compiler folds the load into every FMA that uses v, and
// these unaligned loads (often split across cache lines) then cost more than the arithmetic.
template <class V> inline void keep_in_register(V& v) {
#if defined(__AVX__)
  asm("" : "+x"(v));
#else
  (void)v;
#endif
}

// Vector registers a tile may fill with accumulators (32 ymm with AVX-512VL, 16 with AVX).
#if defined(__AVX512F__)
constexpr int kRegs = 32;
#elif defined(__AVX__)
constexpr int kRegs = 16;
#else
constexpr int kRegs = 8;  // a 32-byte vector takes two SSE registers
#endif

// Largest tile along the blocked dimension (output channels or taps) for NV vectors per row.
// float64 exists for gradcheck: it gets one small tile shape, which keeps the build short.
template <class T> constexpr int kMaxNv = std::is_same_v<T, float> ? 3 : 1;
template <class T> constexpr int max_block(int nv) {
  if (!std::is_same_v<T, float>) return 4;
  return std::min(24, (kRegs - nv - 1) / nv);
}

// Weight-gradient tile: output channels x taps (4 x 5 measured best of the shapes that fit).
template <class T> constexpr int kGwOb = std::is_same_v<T, float> ? 4 : 2;
template <class T> constexpr int kGwTb = std::is_same_v<T, float> ? 5 : 2;

// ---- geometry ----
struct ConvGeom {
  int64_t n, c, h, w;      // input
  int64_t o, kh, kw;       // weight (O, C, kh, kw)
  int64_t sh, sw, ph, pw;  // stride, padding
  int64_t ho, wo;          // output
  int64_t hp, wv, wq;      // padded rows; output columns rounded up to lanes; scratch row length
  int64_t k() const { return c * kh * kw; }
  int64_t xs_size() const { return c * hp * sw * wq; }
  int64_t gys_size() const { return o * ho * wv; }
  // Offset in xs of tap (c, i, j) relative to output row 0, column 0.
  int64_t tap_offset(int64_t tap) const {
    const int64_t ch = tap / (kh * kw), i = tap / kw % kh, j = tap % kw;
    return ((ch * hp + i) * sw + j % sw) * wq + j / sw;
  }
  int64_t row_step() const { return sh * sw * wq; }  // xs distance between output rows
  // Whether packing would copy x unchanged (stride 1, no padding, rows of whole vectors), and
  // likewise grad_y (rows of whole vectors): then the kernels read the tensors themselves.
  bool input_is_packed() const { return sw == 1 && ph == 0 && pw == 0 && wq == w; }
  bool grad_output_is_packed() const { return wv == wo; }
};

template <class T>
ConvGeom geometry(const Tensor& x, const Tensor& w, const Conv2dArgs& a) {
  ConvGeom g{};
  g.n = x.size(0), g.c = x.size(1), g.h = x.size(2), g.w = x.size(3);
  g.o = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.sh = a.stride.h, g.sw = a.stride.w, g.ph = a.padding.h, g.pw = a.padding.w;
  g.ho = (g.h + 2 * g.ph - g.kh) / g.sh + 1;
  g.wo = (g.w + 2 * g.pw - g.kw) / g.sw + 1;
  g.hp = g.h + 2 * g.ph;
  const int64_t L = kLanes<T>;
  g.wv = (g.wo + L - 1) / L * L;
  g.wq = g.wv + (g.kw - 1) / g.sw;
  return g;
}

// x (C, H, W) -> xs (C, Hp, sw, Wq): zero padding, columns split by stride phase.
template <class T>
void pack_input(const ConvGeom& g, const T* x, T* xs) {
  const int64_t row = g.sw * g.wq;
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t r = 0; r < g.hp; ++r) {
      T* dst = xs + (c * g.hp + r) * row;
      const int64_t ih = r - g.ph;
      if (ih < 0 || ih >= g.h) {
        std::fill(dst, dst + row, T(0));
        continue;
      }
      const T* src = x + (c * g.h + ih) * g.w;
      if (g.sw == 1) {  // [pw zeros][the row][zeros]
        const int64_t lead = std::min(g.pw, g.wq), n = std::clamp<int64_t>(g.wq - g.pw, 0, g.w);
        std::fill(dst, dst + lead, T(0));
        std::copy(src, src + n, dst + lead);
        std::fill(dst + lead + n, dst + g.wq, T(0));
        continue;
      }
      for (int64_t ph = 0; ph < g.sw; ++ph)
        for (int64_t q = 0; q < g.wq; ++q) {
          const int64_t iw = q * g.sw + ph - g.pw;
          dst[ph * g.wq + q] = iw >= 0 && iw < g.w ? src[iw] : T(0);
        }
    }
}

// gxs (C, Hp, sw, Wq) -> gx (C, H, W): the inverse of pack_input, dropping the padding.
template <class T>
void unpack_input_grad(const ConvGeom& g, const T* gxs, T* gx) {
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t ih = 0; ih < g.h; ++ih) {
      const T* src = gxs + (c * g.hp + ih + g.ph) * g.sw * g.wq;
      T* dst = gx + (c * g.h + ih) * g.w;
      if (g.sw == 1) {
        std::copy(src + g.pw, src + g.pw + g.w, dst);
        continue;
      }
      for (int64_t iw = 0; iw < g.w; ++iw) {
        const int64_t col = iw + g.pw;
        dst[iw] = src[(col % g.sw) * g.wq + col / g.sw];
      }
    }
}

// gy (O, Ho, Wo) -> gys (O, Ho, Wv), zeros past each row's end.
template <class T>
void pack_grad_output(const ConvGeom& g, const T* gy, T* gys) {
  for (int64_t r = 0; r < g.o * g.ho; ++r) {
    std::copy(gy + r * g.wo, gy + (r + 1) * g.wo, gys + r * g.wv);
    std::fill(gys + r * g.wv + g.wo, gys + (r + 1) * g.wv, T(0));
  }
}

// ---- tiles ----
// Each tile keeps its accumulators in registers. They are not inlined: inside the larger loops
// around them the register allocator spills accumulators, which halves the speed.
// y[o0 + b][oh][ow0 + lanes of NV vectors], b < OB. wf: (K, O), taps in (c, i, j) order.
template <class T, int NV, int OB>
[[gnu::noinline]] void forward_tile(const ConvGeom& g, const T* xs, const T* wf, const int64_t* tap_off,
                                    const T* bias, T* y, int64_t o0, int64_t oh, int64_t ow0) {
  constexpr int L = kLanes<T>;
  Vec<T> acc[OB][NV];
#pragma GCC unroll 32
  for (int b = 0; b < OB; ++b)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[b][v] = Vec<T>{} + (bias ? bias[o0 + b] : T(0));
  const T* xbase = xs + oh * g.row_step() + ow0;
  const T* wk = wf + o0;
  for (int64_t k = 0, K = g.k(); k < K; ++k, wk += g.o) {
    const T* xp = xbase + tap_off[k];
    Vec<T> xv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      xv[v] = load(xp + v * L);
      keep_in_register(xv[v]);
    }
#pragma GCC unroll 32
    for (int b = 0; b < OB; ++b)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[b][v] += wk[b] * xv[v];
  }
  for (int b = 0; b < OB; ++b) {
    T* yrow = y + ((o0 + b) * g.ho + oh) * g.wo;
    for (int v = 0; v < NV; ++v) {
      const int64_t col = ow0 + v * L;
      if (col + L <= g.wo) store(yrow + col, acc[b][v]);
      else if (col < g.wo) store_n(yrow + col, acc[b][v], int(g.wo - col));
    }
  }
}

// The gradient flowing into taps k0 .. k0+TB of output row oh, columns ow0 + NV vectors:
// acc[t] = sum_o wx[o][k0 + t] * gy[o][oh][cols], added into gxs at each tap's input position.
// Taps are in scatter order (see scatter_order), with wx and tap_off permuted to match.
template <class T, int NV, int TB>
[[gnu::noinline]] void input_grad_tile(const ConvGeom& g, const T* gys, const T* wx, const int64_t* tap_off,
                                       T* gxs, int64_t k0, int64_t oh, int64_t ow0) {
  constexpr int L = kLanes<T>;
  const int64_t K = g.k();
  Vec<T> acc[TB][NV] = {};
  for (int64_t o = 0; o < g.o; ++o) {
    const T* gp = gys + (o * g.ho + oh) * g.wv + ow0;
    Vec<T> gv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) gv[v] = load(gp + v * L);
    const T* wrow = wx + o * K + k0;
#pragma GCC unroll 32
    for (int t = 0; t < TB; ++t)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[t][v] += wrow[t] * gv[v];
  }
  T* base = gxs + oh * g.row_step() + ow0;
#pragma GCC unroll 32
  for (int t = 0; t < TB; ++t) {
    T* dst = base + tap_off[k0 + t];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(dst + v * L, load(dst + v * L) + acc[t][v]);
  }
}

// gwv[o0 + b][k0 + t] (vectors of per-lane partial sums) += sum over the samples' output positions
// of gy[o][pos] * x[tap][pos]. The last vector of a row is masked when the row ends mid-vector.
template <class T, int OB, int TB>
[[gnu::noinline]] void weight_grad_tile(const ConvGeom& g, const T* const* xs, const T* const* gys,
                                        int64_t samples, const int64_t* tap_off, T* gwv, int64_t o0, int64_t k0,
                                        Mask<T> tail_mask) {
  constexpr int L = kLanes<T>;
  const int64_t K = g.k(), gy_channel = g.ho * g.wv, row_step = g.row_step();
  const int64_t full = g.wo / L * L;  // columns covered by whole vectors
  int64_t off[TB];
  for (int t = 0; t < TB; ++t) off[t] = tap_off[k0 + t];
  Vec<T> acc[OB][TB];
#pragma GCC unroll 32
  for (int b = 0; b < OB; ++b)
#pragma GCC unroll 32
    for (int t = 0; t < TB; ++t) acc[b][t] = load(gwv + ((o0 + b) * K + k0 + t) * L);
  auto step = [&](const T* xp, const T* gp, bool masked) __attribute__((always_inline)) {
    Vec<T> gv[OB];
#pragma GCC unroll 32
    for (int b = 0; b < OB; ++b) gv[b] = load(gp + b * gy_channel);
#pragma GCC unroll 32
    for (int t = 0; t < TB; ++t) {
      Vec<T> xv = load(xp + off[t]);
      if (masked) xv = std::bit_cast<Vec<T>>(std::bit_cast<Mask<T>>(xv) & tail_mask);
      keep_in_register(xv);
#pragma GCC unroll 32
      for (int b = 0; b < OB; ++b) acc[b][t] += gv[b] * xv;
    }
  };
  for (int64_t s = 0; s < samples; ++s) {
    const T* xrow = xs[s];
    const T* grow = gys[s] + o0 * gy_channel;
    for (int64_t oh = 0; oh < g.ho; ++oh, xrow += row_step, grow += g.wv) {
      for (int64_t col = 0; col < full; col += L) step(xrow + col, grow + col, false);
      if (full < g.wo) step(xrow + full, grow + full, true);
    }
  }
  for (int b = 0; b < OB; ++b)
    for (int t = 0; t < TB; ++t) store(gwv + ((o0 + b) * K + k0 + t) * L, acc[b][t]);
}

// ---- dispatch of a runtime tile size to its instantiation ----
template <int N, int Max, class F>
void with_block(int n, F&& f) {
  if constexpr (N <= Max) {
    if (n == N) return f(std::integral_constant<int, N>{});
    with_block<N + 1, Max>(n, std::forward<F>(f));
  }
}

// Splits `total` into blocks of at most `max` as even as possible: calls f(start, size).
template <class F>
void for_blocks(int64_t total, int max, F&& f) {
  const int64_t count = (total + max - 1) / max;
  for (int64_t b = 0, start = 0; b < count; ++b) {
    const int64_t size = (total - start) / (count - b);
    f(start, int(size));
    start += size;
  }
}

// Thread-owned scratch, grown on demand and reused across calls; 64-byte aligned, so that vectors
// at multiples of L from it never straddle a cache line.
template <class T>
T* scratch(std::vector<T>& buf, int64_t n) {
  constexpr int64_t kAlign = 64 / sizeof(T);
  if (int64_t(buf.size()) < n + kAlign) buf.resize(size_t(n + kAlign));
  const auto addr = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + (64 - addr % 64) % 64 / sizeof(T);
}

// How many chunks to cut the batch into (1 for work too small to share), and how many threads
// to run them on.
constexpr int kChunks = 8;
int chunk_count(const ConvGeom& g) {
  const int64_t flops = g.n * g.o * g.k() * g.ho * g.wo;
  if (flops < (int64_t(1) << 18)) return 1;
  return int(std::clamp<int64_t>(g.n, 1, std::max(kChunks, get_num_threads())));
}
int thread_count(int chunks) { return std::max(1, std::min(chunks, get_num_threads())); }

// Taps ordered by kernel column j first: consecutive taps then add into different rows of gxs.
// In (c, i, j) order, taps j and j + 1 add overlapping unaligned vectors one after the other, and
// every load then waits for the previous store to reach the cache (a failed store forwarding).
std::vector<int64_t> scatter_order(const ConvGeom& g) {
  std::vector<int64_t> order;
  order.reserve(size_t(g.k()));
  for (int64_t j = 0; j < g.kw; ++j)
    for (int64_t ci = 0; ci < g.c * g.kh; ++ci) order.push_back(ci * g.kw + j);
  return order;
}

// One sample's output y (O, Ho, Wo) from its packed input.
template <class T>
void forward_sample(const ConvGeom& g, const T* xs, const T* wf, const int64_t* tap_off, const T* bias, T* y) {
  constexpr int L = kLanes<T>;
  const int64_t nvec = g.wv / L;
  const int nv = int(std::min<int64_t>(kMaxNv<T>, nvec));
  for_blocks(g.o, max_block<T>(nv), [&](int64_t o0, int ob) {
    for (int64_t oh = 0; oh < g.ho; ++oh)
      for (int64_t vi = 0; vi < nvec; vi += nv)
        with_block<1, kMaxNv<T>>(int(std::min<int64_t>(nv, nvec - vi)), [&](auto nv_c) {
          constexpr int NV = decltype(nv_c)::value;
          with_block<1, max_block<T>(NV)>(ob, [&](auto ob_c) {
            forward_tile<T, NV, decltype(ob_c)::value>(g, xs, wf, tap_off, bias, y, o0, oh, vi * L);
          });
        });
  });
}

// One sample's grad_x (C, H, W) from its packed grad_y; gxs is scratch of xs_size() + L, unused
// when the packed layout is x's own.
template <class T>
void input_grad_sample(const ConvGeom& g, const T* gys, const T* wx, const int64_t* x_off, T* gxs, T* gx) {
  constexpr int L = kLanes<T>;
  const int64_t nvec = g.wv / L;
  const int nv = int(std::min<int64_t>(kMaxNv<T>, nvec));
  if (g.input_is_packed()) gxs = gx;
  std::fill(gxs, gxs + g.xs_size(), T(0));
  for_blocks(g.k(), max_block<T>(nv), [&](int64_t k0, int tb) {
    for (int64_t oh = 0; oh < g.ho; ++oh)
      for (int64_t vi = 0; vi < nvec; vi += nv)
        with_block<1, kMaxNv<T>>(int(std::min<int64_t>(nv, nvec - vi)), [&](auto nv_c) {
          constexpr int NV = decltype(nv_c)::value;
          with_block<1, max_block<T>(NV)>(tb, [&](auto tb_c) {
            input_grad_tile<T, NV, decltype(tb_c)::value>(g, gys, wx, x_off, gxs, k0, oh, vi * L);
          });
        });
  });
  if (!g.input_is_packed()) unpack_input_grad(g, gxs, gx);
}

// A group of samples' contribution to the per-lane weight-gradient sums gwv (O, K, L).
template <class T>
void weight_grad_group(const ConvGeom& g, const T* const* xs, const T* const* gys, int64_t samples,
                       const int64_t* tap_off, T* gwv, Mask<T> tail_mask) {
  for_blocks(g.o, kGwOb<T>, [&](int64_t o0, int ob) {
    for_blocks(g.k(), kGwTb<T>, [&](int64_t k0, int tb) {
      with_block<1, kGwOb<T>>(ob, [&](auto ob_c) {
        with_block<1, kGwTb<T>>(tb, [&](auto tb_c) {
          weight_grad_tile<T, decltype(ob_c)::value, decltype(tb_c)::value>(g, xs, gys, samples, tap_off, gwv, o0,
                                                                            k0, tail_mask);
        });
      });
    });
  });
}

template <class T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t K = g.k();
  // Weights as (K, O), so a tile's output channels sit side by side.
  std::vector<T> wf(size_t(g.o * K));
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t k = 0; k < K; ++k) wf[size_t(k * g.o + o)] = w[o * K + k];
  std::vector<int64_t> tap_off(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) tap_off[size_t(k)] = g.tap_offset(k);
  const int chunks = chunk_count(g), threads = thread_count(chunks);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
  for (int t = 0; t < chunks; ++t) {
    thread_local std::vector<T> xs_buf;
    T* xs = g.input_is_packed() ? nullptr : scratch(xs_buf, g.xs_size() + kLanes<T>);
    for (int64_t n = g.n * t / chunks; n < g.n * (t + 1) / chunks; ++n) {
      const T* xn = x + n * g.c * g.h * g.w;
      if (xs) pack_input(g, xn, xs);
      forward_sample(g, xs ? xs : xn, wf.data(), tap_off.data(), bias, y + n * g.o * g.ho * g.wo);
    }
  }
}

template <class T>
void conv_backward(const ConvGeom& g, const T* gy, const T* x, const T* w, T* gx, T* gw, T* gb) {
  constexpr int L = kLanes<T>;
  const int64_t K = g.k(), O = g.o, P = g.ho * g.wo, x_size = g.c * g.h * g.w;
  std::vector<int64_t> tap_off(static_cast<size_t>(K));
  for (int64_t k = 0; k < K; ++k) tap_off[size_t(k)] = g.tap_offset(k);
  // For grad_x: weights (O, K) and tap offsets in scatter order.
  std::vector<int64_t> x_off;
  std::vector<T> wx;
  if (gx) {
    const std::vector<int64_t> order = scatter_order(g);
    x_off.resize(size_t(K));
    wx.resize(size_t(O * K));
    for (int64_t k = 0; k < K; ++k) {
      x_off[size_t(k)] = tap_off[size_t(order[size_t(k)])];
      for (int64_t o = 0; o < O; ++o) wx[size_t(o * K + k)] = w[o * K + order[size_t(k)]];
    }
  }
  Mask<T> tail_mask{};
  for (int l = 0; l < L; ++l) tail_mask[l] = l < g.wo % L ? -1 : 0;  // all bits set: keep the lane
  // Samples per weight-gradient pass: their scratch stays in cache while each tile sweeps them.
  const int64_t xs_stride = g.xs_size() + L, gys_stride = g.gys_size();
  const int64_t group = std::clamp<int64_t>((48 << 10) / int64_t((xs_stride + gys_stride) * sizeof(T)), 1, 16);
  const int chunks = chunk_count(g), threads = thread_count(chunks);
  // Per-chunk sums of grad_w (O * K) then grad_b (O), reduced below in chunk order.
  const int64_t part_size = O * K + O;
  std::vector<T> partial(gw || gb ? size_t(chunks * part_size) : 0, T(0));
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
  for (int t = 0; t < chunks; ++t) {
    thread_local std::vector<T> xs_buf, gys_buf, gxs_buf, gwv_buf, gbv_buf;
    T* xs_all = gw && !g.input_is_packed() ? scratch(xs_buf, group * xs_stride) : nullptr;
    T* gys_all = g.grad_output_is_packed() ? nullptr : scratch(gys_buf, group * gys_stride);
    T* gxs = gx && !g.input_is_packed() ? scratch(gxs_buf, xs_stride) : nullptr;
    // Per-lane partial sums: vectors of L for each (o, k) and each o.
    T* gwv = gw ? scratch(gwv_buf, O * K * L) : nullptr;
    T* gbv = gb ? scratch(gbv_buf, O * L) : nullptr;
    if (gw) std::fill(gwv, gwv + O * K * L, T(0));
    if (gb) std::fill(gbv, gbv + O * L, T(0));
    std::vector<const T*> xs_ptr(static_cast<size_t>(group)), gys_ptr(static_cast<size_t>(group));
    const int64_t n_end = g.n * (t + 1) / chunks;
    for (int64_t n0 = g.n * t / chunks; n0 < n_end; n0 += group) {
      const int64_t samples = std::min(group, n_end - n0);
      for (int64_t s = 0; s < samples; ++s) {
        const T* gyn = gy + (n0 + s) * O * P;
        if (!g.grad_output_is_packed()) pack_grad_output(g, gyn, gys_all + s * gys_stride);
        const T* gys = g.grad_output_is_packed() ? gyn : gys_all + s * gys_stride;
        gys_ptr[size_t(s)] = gys;
        if (gw) {
          const T* xn = x + (n0 + s) * x_size;
          if (!g.input_is_packed()) pack_input(g, xn, xs_all + s * xs_stride);
          xs_ptr[size_t(s)] = g.input_is_packed() ? xn : xs_all + s * xs_stride;
        }
        for (int64_t o = 0; gb && o < O; ++o) {  // the padded rows' lanes past Wo are zeros
          Vec<T> sum = load(gbv + o * L);
          for (int64_t i = 0; i < g.ho * g.wv; i += L) sum += load(gys + o * g.ho * g.wv + i);
          store(gbv + o * L, sum);
        }
      }
      if (gw) weight_grad_group(g, xs_ptr.data(), gys_ptr.data(), samples, tap_off.data(), gwv, tail_mask);
      for (int64_t s = 0; gx && s < samples; ++s)
        input_grad_sample(g, gys_ptr[size_t(s)], wx.data(), x_off.data(), gxs, gx + (n0 + s) * x_size);
    }
    // This chunk's partial: the lanes summed in order.
    T* part = partial.empty() ? nullptr : partial.data() + t * part_size;
    for (int64_t i = 0; gw && i < O * K; ++i)
      for (int l = 0; l < L; ++l) part[i] += gwv[i * L + l];
    for (int64_t o = 0; gb && o < O; ++o)
      for (int l = 0; l < L; ++l) part[O * K + o] += gbv[o * L + l];
  }
  if (gw) std::fill(gw, gw + O * K, T(0));
  if (gb) std::fill(gb, gb + O, T(0));
  for (int t = 0; t < chunks && !partial.empty(); ++t) {
    const T* part = partial.data() + t * part_size;
    for (int64_t i = 0; gw && i < O * K; ++i) gw[i] += part[i];
    for (int64_t o = 0; gb && o < O; ++o) gb[o] += part[O * K + o];
  }
}

template <class T>
T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

}  // namespace

// The shape as dnnl_conv.h takes it (dilation 1, one group).
dnnl_conv::Shape dnnl_shape(const Tensor& x, const Tensor& w, const Conv2dArgs& a) {
  const int64_t ho = (x.size(2) + 2 * a.padding.h - w.size(2)) / a.stride.h + 1;
  const int64_t wo = (x.size(3) + 2 * a.padding.w - w.size(3)) / a.stride.w + 1;
  return {x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), 1,
          a.stride.h, a.stride.w, a.padding.h, a.padding.w, 1, 1, ho, wo};
}

// x: (N, C, H, W), w: (O, C, kh, kw), b: (O) or undefined -> y: (N, O, Ho, Wo)
void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args,
                                Tensor& y) {
  if (x.dtype() == DType::Float32) {
    const dnnl_conv::Shape s = dnnl_shape(x, w, args);
    if (dnnl_conv::chosen(s))
      return dnnl_conv::forward(s, ptr_or_null<float>(x), ptr_or_null<float>(w), ptr_or_null<float>(b),
                                ptr_or_null<float>(y));
  }
  conv2d_forward_direct(x, w, b, args, y);
}

// grad_y: (N, O, Ho, Wo) -> grad_x: (N, C, H, W), grad_w: (O, C, kh, kw), grad_b: (O); each optional.
void CpuBackend::conv2d_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                                 Tensor& grad_x, Tensor& grad_w, Tensor& grad_b) {
  if (x.dtype() == DType::Float32) {
    const dnnl_conv::Shape s = dnnl_shape(x, w, args);
    if (dnnl_conv::chosen(s))
      return dnnl_conv::backward(s, ptr_or_null<float>(grad_y), ptr_or_null<float>(x), ptr_or_null<float>(w),
                                 ptr_or_null<float>(grad_x), ptr_or_null<float>(grad_w), ptr_or_null<float>(grad_b));
  }
  conv2d_backward_direct(grad_y, x, w, args, grad_x, grad_w, grad_b);
}

// With dilation and groups: only through oneDNN (the op runs im2col + GEMM where it is not chosen).
dnnl_conv::Shape dnnl_shape(const Tensor& x, const Tensor& w, const Window2dArgs& a, int64_t groups) {
  const int64_t ho = (x.size(2) + 2 * a.padding.h - a.dilation.h * (w.size(2) - 1) - 1) / a.stride.h + 1;
  const int64_t wo = (x.size(3) + 2 * a.padding.w - a.dilation.w * (w.size(3) - 1) - 1) / a.stride.w + 1;
  return {x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), groups,
          a.stride.h, a.stride.w, a.padding.h, a.padding.w, a.dilation.h, a.dilation.w, ho, wo};
}

bool CpuBackend::conv2d_general_supported(const Tensor& x, const Tensor& w, const Window2dArgs& args,
                                          int64_t groups) {
  return x.dtype() == DType::Float32 && dnnl_conv::chosen(dnnl_shape(x, w, args, groups));
}

void CpuBackend::conv2d_general_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Window2dArgs& args,
                                        int64_t groups, Tensor& y) {
  EMBER_CHECK(conv2d_general_supported(x, w, args, groups), "conv2d (dilation, groups): not a oneDNN case");
  dnnl_conv::forward(dnnl_shape(x, w, args, groups), ptr_or_null<float>(x), ptr_or_null<float>(w),
                     ptr_or_null<float>(b), ptr_or_null<float>(y));
}

void CpuBackend::conv2d_general_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w,
                                         const Window2dArgs& args, int64_t groups, Tensor& grad_x, Tensor& grad_w,
                                         Tensor& grad_b) {
  EMBER_CHECK(conv2d_general_supported(x, w, args, groups), "conv2d (dilation, groups): not a oneDNN case");
  dnnl_conv::backward(dnnl_shape(x, w, args, groups), ptr_or_null<float>(grad_y), ptr_or_null<float>(x),
                      ptr_or_null<float>(w), ptr_or_null<float>(grad_x), ptr_or_null<float>(grad_w),
                      ptr_or_null<float>(grad_b));
}

void conv2d_forward_direct(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args, Tensor& y) {
  dispatch_floating(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    conv_forward<T>(geometry<T>(x, w, args), ptr_or_null<T>(x), ptr_or_null<T>(w), ptr_or_null<T>(b),
                    ptr_or_null<T>(y));
  });
}

void conv2d_backward_direct(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                            Tensor& grad_x, Tensor& grad_w, Tensor& grad_b) {
  dispatch_floating(x.dtype(), "conv2d_backward", [&](auto tag) {
    using T = decltype(tag);
    conv_backward<T>(geometry<T>(x, w, args), ptr_or_null<T>(grad_y), ptr_or_null<T>(x), ptr_or_null<T>(w),
                     ptr_or_null<T>(grad_x), ptr_or_null<T>(grad_w), ptr_or_null<T>(grad_b));
  });
}

}  // namespace ember
