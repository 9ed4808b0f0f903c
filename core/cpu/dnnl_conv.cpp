// float32 conv2d forward, backward-data and backward-weights on oneDNN (Debian's libdnnl, the
// engine PyTorch's own CPU convolutions run on). Ember's direct kernels (conv.cpp) vectorise along
// output rows and waste most of each vector on the 1- to 8-pixel rows of deep layers; oneDNN blocks
// channels instead. Where oneDNN is absent (EMBER_DNNL=OFF or no libdnnl-dev) this file only
// declares that it is.
//
// Threads and determinism, as conv.cpp: the batch is cut into a fixed number of chunks (8, or one
// per thread beyond that) that Ember's threads take in turn, each chunk one single-threaded oneDNN
// call (oneDNN built on OpenMP plans for omp_get_max_threads(), set to 1 inside the chunk); grad_w
// and grad_b are summed per chunk and the chunks reduced in order. So Ember's thread count is the
// one used, and results are bit-identical from run to run and across thread counts up to 8.
//
// Primitives are made once per (pass, shape, chunk size) and kept per thread; the activations are
// reordered between Ember's layout (NCHW, OIHW) and the one oneDNN picks, in per-thread buffers
// reused across calls.
#include "ember/core/cpu/dnnl_conv.h"

#include <cstdlib>
#include <string>

#include "ember/core/error.h"

#if defined(EMBER_WITH_DNNL)
#include <omp.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "ember/core/parallel.h"
#endif

namespace ember::dnnl_conv {

namespace {
// EMBER_CONV, read once: 0 the rule, 1 "direct" (never oneDNN), 2 "dnnl" (oneDNN wherever it can).
int method_override() {
  static const int v = [] {
    const char* e = std::getenv("EMBER_CONV");
    const std::string s = e ? e : "";
    EMBER_CHECK(s.empty() || s == "direct" || s == "dnnl", "EMBER_CONV: expected 'direct' or 'dnnl', found '", s,
                "'");
    return s.empty() ? 0 : s == "direct" ? 1 : 2;
  }();
  return v;
}
}  // namespace

// Measured (bench/run_layers.sh): the direct kernel wins at MNISTNet's layers, few input channels
// and output rows of 8 or more pixels; oneDNN everywhere else.
bool rule(const Shape& s) {
  const bool direct_wins = s.groups == 1 && s.dh == 1 && s.dw == 1 && s.c * s.kh * s.kw <= 256 && s.o <= 32 &&
                           s.wo >= 8;
  return !direct_wins;
}

bool chosen(const Shape& s) {
  if (!compiled()) return false;
  const int m = method_override();
  return m == 2 || (m == 0 && rule(s));
}

#if !defined(EMBER_WITH_DNNL)

bool compiled() { return false; }
void forward(const Shape&, const float*, const float*, const float*, float*) {
  EMBER_FAIL("conv2d: this build of Ember has no oneDNN (EMBER_DNNL)");
}
void backward(const Shape&, const float*, const float*, const float*, float*, float*, float*) {
  EMBER_FAIL("conv2d: this build of Ember has no oneDNN (EMBER_DNNL)");
}

#else

bool compiled() { return true; }

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& thread_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

// Per-thread buffers, by role, grown on demand and 64-byte aligned.
// kReady, kPartial and kTotal are the calling thread's (see forward and backward), the others the chunks'.
enum Slot { kSrc, kWei, kDst, kScratch, kReady, kPartial, kTotal, kSlots };
float* thread_buffer(Slot slot, size_t bytes) {
  struct Buf {
    std::unique_ptr<float[]> data;
    size_t floats = 0;
  };
  thread_local std::array<Buf, kSlots> bufs;
  Buf& b = bufs[slot];
  const size_t need = bytes / sizeof(float) + 16;
  if (b.floats < need) b.data.reset(new float[need]), b.floats = need;
  const auto addr = reinterpret_cast<uintptr_t>(b.data.get());
  return b.data.get() + (64 - addr % 64) % 64 / sizeof(float);
}

memory::dims src_dims(const Shape& s, int64_t n) { return {n, s.c, s.h, s.w}; }
memory::dims dst_dims(const Shape& s, int64_t n) { return {n, s.o, s.ho, s.wo}; }
memory::dims wei_dims(const Shape& s) {
  if (s.groups == 1) return {s.o, s.c, s.kh, s.kw};
  return {s.groups, s.o / s.groups, s.c / s.groups, s.kh, s.kw};
}
tag wei_tag(const Shape& s) { return s.groups == 1 ? tag::oihw : tag::goihw; }

// The geometry oneDNN takes: dilation counted from 0, and the right padding that makes its output
// size PyTorch's (floor) one.
struct Geom {
  memory::dims strides, dilates, pad_l, pad_r;
};
Geom geom(const Shape& s) {
  auto right = [](int64_t in, int64_t out, int64_t k, int64_t st, int64_t p, int64_t d) {
    const int64_t r = (out - 1) * st + (k - 1) * d + 1 - in - p;
    return r >= 0 ? r : p;
  };
  return {{s.sh, s.sw}, {s.dh - 1, s.dw - 1}, {s.ph, s.pw},
          {right(s.h, s.ho, s.kh, s.sh, s.ph, s.dh), right(s.w, s.wo, s.kw, s.sw, s.pw, s.dw)}};
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

memory::desc any(const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); }

dnnl::convolution_forward::primitive_desc forward_pd(const Shape& s, int64_t n, bool bias) {
  const Geom g = geom(s);
  const auto src = any(src_dims(s, n)), wei = any(wei_dims(s)), dst = any(dst_dims(s, n));
  const auto kind = dnnl::prop_kind::forward_training;
  const auto algo = dnnl::algorithm::convolution_direct;
  auto d = bias ? dnnl::convolution_forward::desc(kind, algo, src, wei, memory::desc({s.o}, dt::f32, tag::x), dst,
                                                  g.strides, g.dilates, g.pad_l, g.pad_r)
                : dnnl::convolution_forward::desc(kind, algo, src, wei, dst, g.strides, g.dilates, g.pad_l, g.pad_r);
  return dnnl::convolution_forward::primitive_desc(d, user_scratchpad(), cpu_engine());
}

// A tensor in Ember's layout and in the primitive's, with the reorders between them where they differ.
struct Operand {
  memory::desc user, prim;
  bool same = true;
  dnnl::reorder to_prim, to_user;
  Operand() = default;
  Operand(const memory::desc& user_md, const memory::desc& prim_md, bool is_input) : user(user_md), prim(prim_md) {
    same = user == prim;
    if (same) return;
    memory u(user, cpu_engine(), DNNL_MEMORY_NONE), p(prim, cpu_engine(), DNNL_MEMORY_NONE);
    if (is_input) to_prim = dnnl::reorder(u, p);
    else to_user = dnnl::reorder(p, u);
  }
  // The memory a primitive reads: the user's data, reordered into `slot` where needed.
  memory input(const float* data, Slot slot) const {
    memory u(user, cpu_engine(), const_cast<float*>(data));
    if (same) return u;
    memory p(prim, cpu_engine(), thread_buffer(slot, prim.get_size()));
    to_prim.execute(thread_stream(), u, p);
    return p;
  }
  // As input(), but taking `ready` (data already in some layout) where that is the primitive's.
  memory input(const float* data, Slot slot, const memory::desc& ready_md, const float* ready) const {
    if (ready && ready_md == prim) return memory(prim, cpu_engine(), const_cast<float*>(ready));
    return input(data, slot);
  }
  // The memory a primitive writes; finish() then moves it into the user's data.
  memory output(float* data, Slot slot) const {
    if (same) return memory(user, cpu_engine(), data);
    return memory(prim, cpu_engine(), thread_buffer(slot, prim.get_size()));
  }
  void finish(const memory& written, float* data) const {
    if (same) return;
    memory u(user, cpu_engine(), data);
    to_user.execute(thread_stream(), const_cast<memory&>(written), u);
  }
};

memory scratchpad(const memory::desc& md) { return memory(md, cpu_engine(), thread_buffer(kScratch, md.get_size())); }

struct Forward {
  dnnl::convolution_forward prim;
  Operand src, wei, dst;
  memory::desc scratch;
};
struct BackwardData {
  dnnl::convolution_backward_data prim;
  Operand diff_dst, wei, diff_src;
  memory::desc scratch;
};
struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  Operand src, diff_dst, diff_wei;
  memory::desc scratch;
};

using Key = std::array<int64_t, 17>;
Key key_of(int pass, const Shape& s, int64_t n, bool bias) {
  return {pass, n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.groups, s.sh, s.sw, s.ph, s.pw, s.dh, s.dw, s.ho, bias};
}

const Forward& forward_entry(const Shape& s, int64_t n, bool bias) {
  thread_local std::map<Key, std::unique_ptr<Forward>> cache;
  auto& e = cache[key_of(0, s, n, bias)];
  if (!e) {
    auto pd = forward_pd(s, n, bias);
    e.reset(new Forward{dnnl::convolution_forward(pd), Operand(memory::desc(src_dims(s, n), dt::f32, tag::nchw), pd.src_desc(), true),
                        Operand(memory::desc(wei_dims(s), dt::f32, wei_tag(s)), pd.weights_desc(), true),
                        Operand(memory::desc(dst_dims(s, n), dt::f32, tag::nchw), pd.dst_desc(), false),
                        pd.scratchpad_desc()});
  }
  return *e;
}

const BackwardData& backward_data_entry(const Shape& s, int64_t n) {
  thread_local std::map<Key, std::unique_ptr<BackwardData>> cache;
  auto& e = cache[key_of(1, s, n, false)];
  if (!e) {
    const Geom g = geom(s);
    dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, any(src_dims(s, n)),
                                            any(wei_dims(s)), any(dst_dims(s, n)), g.strides, g.dilates, g.pad_l,
                                            g.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(d, user_scratchpad(), cpu_engine(), forward_pd(s, n, false));
    e.reset(new BackwardData{dnnl::convolution_backward_data(pd),
                             Operand(memory::desc(dst_dims(s, n), dt::f32, tag::nchw), pd.diff_dst_desc(), true),
                             Operand(memory::desc(wei_dims(s), dt::f32, wei_tag(s)), pd.weights_desc(), true),
                             Operand(memory::desc(src_dims(s, n), dt::f32, tag::nchw), pd.diff_src_desc(), false),
                             pd.scratchpad_desc()});
  }
  return *e;
}

const BackwardWeights& backward_weights_entry(const Shape& s, int64_t n, bool bias) {
  thread_local std::map<Key, std::unique_ptr<BackwardWeights>> cache;
  auto& e = cache[key_of(2, s, n, bias)];
  if (!e) {
    const Geom g = geom(s);
    const auto src = any(src_dims(s, n)), wei = any(wei_dims(s)), dst = any(dst_dims(s, n));
    const auto algo = dnnl::algorithm::convolution_direct;
    auto d = bias ? dnnl::convolution_backward_weights::desc(algo, src, wei, memory::desc({s.o}, dt::f32, tag::x), dst,
                                                             g.strides, g.dilates, g.pad_l, g.pad_r)
                  : dnnl::convolution_backward_weights::desc(algo, src, wei, dst, g.strides, g.dilates, g.pad_l,
                                                             g.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(d, user_scratchpad(), cpu_engine(),
                                                          forward_pd(s, n, bias));
    e.reset(new BackwardWeights{dnnl::convolution_backward_weights(pd),
                                Operand(memory::desc(src_dims(s, n), dt::f32, tag::nchw), pd.src_desc(), true),
                                Operand(memory::desc(dst_dims(s, n), dt::f32, tag::nchw), pd.diff_dst_desc(), true),
                                Operand(memory::desc(wei_dims(s), dt::f32, wei_tag(s)), pd.diff_weights_desc(), false),
                                pd.scratchpad_desc()});
  }
  return *e;
}

// Chunks of the batch (see the top of the file): a function of the shape alone up to 8 threads.
// Each chunk's call reorders activations and pays oneDNN's fixed costs, and a smaller batch
// blocks less well: a chunk gets at least kChunkPixels output pixels per channel, and there are at
// least 2 chunks, so that two threads have work. At batch 64 that is 8 chunks for maps of 16x16 and
// up, 2 for 8x8 and smaller (measured on one thread, CPU time: ResNet's 256 -> 512 stride-2 conv at
// 8x8 -> 4x4 takes 115 ms in 2 chunks, 150 ms in 8; the 512 x 512 one at 1x1 40 ms in 8, 33 in 2).
// The price: a machine with more than two cores runs those small-map layers on two threads.
constexpr int kChunks = 8;
constexpr int64_t kChunkPixels = 2048;
int chunk_count(const Shape& s) {
  const int64_t flops = s.n * s.o * (s.c / s.groups) * s.kh * s.kw * s.ho * s.wo;
  if (flops < (int64_t(1) << 18)) return 1;
  const int64_t by_size = std::clamp<int64_t>(s.n * s.ho * s.wo / kChunkPixels, 2, kChunks);
  return int(std::clamp<int64_t>(std::max<int64_t>(by_size, get_num_threads() > kChunks ? get_num_threads() : 0), 1,
                                 s.n));
}

// f(chunk, first sample, samples) for each chunk, on Ember's threads, each chunk's oneDNN calls
// single-threaded. oneDNN's errors (dnnl::error) come back as one ember::Error.
template <class F>
void over_chunks(int chunks, int64_t n, F&& f) {
  const int threads = std::max(1, std::min(chunks, get_num_threads()));
  std::string failure;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
  for (int t = 0; t < chunks; ++t) {
    omp_set_num_threads(1);  // this task's own setting: what oneDNN plans and runs with
    const int64_t n0 = n * t / chunks, n1 = n * (t + 1) / chunks;
    if (n1 == n0) continue;
    try {
      f(t, n0, n1 - n0);
    } catch (const std::exception& e) {
#pragma omp critical(ember_dnnl_failure)
      if (failure.empty()) failure = e.what();
    }
  }
  EMBER_CHECK(failure.empty(), "conv2d (oneDNN): ", failure);
}

// Runs f on this thread as a chunk would run: oneDNN single-threaded, the thread's setting restored.
template <class F>
auto as_one_thread(F&& f) {
  struct Restore {
    int threads;
    ~Restore() { omp_set_num_threads(threads); }
  } restore{omp_get_max_threads()};
  omp_set_num_threads(1);
  try {
    return f();
  } catch (const dnnl::error& e) {
    EMBER_FAIL("conv2d (oneDNN): ", e.what());
  }
}

// Weights reordered once per call into the layout the chunks' primitives read (not once per chunk:
// at deep layers' small maps that reorder costs as much as the arithmetic).
struct ReadyWeights {
  memory::desc md;
  const float* data = nullptr;  // null: each chunk reads the user's weights as they are
};
void make_ready(const Operand& wei, const float* w, ReadyWeights& r) {
  if (wei.same) return;
  r.md = wei.prim;
  float* p = thread_buffer(kReady, wei.prim.get_size());
  memory u(wei.user, cpu_engine(), const_cast<float*>(w)), m(wei.prim, cpu_engine(), p);
  wei.to_prim.execute(thread_stream(), u, m);
  r.data = p;
}

}  // namespace

void forward(const Shape& s, const float* x, const float* w, const float* b, float* y) {
  const int64_t x_size = s.c * s.h * s.w, y_size = s.o * s.ho * s.wo;
  const int chunks = chunk_count(s);
  ReadyWeights ready;
  as_one_thread([&] { make_ready(forward_entry(s, s.n / chunks, b != nullptr).wei, w, ready); });
  over_chunks(chunks, s.n, [&](int, int64_t n0, int64_t n) {
    const Forward& e = forward_entry(s, n, b != nullptr);
    memory src = e.src.input(x + n0 * x_size, kSrc), wei = e.wei.input(w, kWei, ready.md, ready.data);
    memory dst = e.dst.output(y + n0 * y_size, kDst);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst},
                                            {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}};
    if (b) args.insert({DNNL_ARG_BIAS, memory(memory::desc({s.o}, dt::f32, tag::x), cpu_engine(), const_cast<float*>(b))});
    e.prim.execute(thread_stream(), args);
    e.dst.finish(dst, y + n0 * y_size);
  });
}

void backward(const Shape& s, const float* gy, const float* x, const float* w, float* gx, float* gw, float* gb) {
  const int64_t x_size = s.c * s.h * s.w, y_size = s.o * s.ho * s.wo;
  const int64_t w_size = s.o * (s.c / s.groups) * s.kh * s.kw;
  const int chunks = chunk_count(s);
  const bool need_w = gw || gb;  // grad_b comes with grad_w from oneDNN
  ReadyWeights ready;
  // grad_w is summed over the chunks in the primitive's layout, and reordered into Ember's once,
  // where every chunk size gets the same layout (else each chunk's is reordered before the sum).
  memory::desc gw_md;
  bool sum_in_prim = false;
  as_one_thread([&] {
    if (gx) make_ready(backward_data_entry(s, s.n / chunks).wei, w, ready);
    if (need_w) {
      const Operand& small = backward_weights_entry(s, s.n / chunks, gb != nullptr).diff_wei;
      const Operand& large = backward_weights_entry(s, (s.n + chunks - 1) / chunks, gb != nullptr).diff_wei;
      sum_in_prim = !small.same && small.prim == large.prim;
      gw_md = sum_in_prim ? small.prim : small.user;
    }
  });
  const int64_t gw_floats = int64_t(gw_md.get_size() / sizeof(float)), part_size = gw_floats + s.o;
  // Per-chunk sums of grad_w then grad_b, reduced below in chunk order.
  // (Reused buffers: allocating megabytes afresh on every call costs a page fault per 4 KiB.)
  float* partial = need_w ? thread_buffer(kPartial, size_t(chunks * part_size) * sizeof(float)) : nullptr;
  over_chunks(chunks, s.n, [&](int t, int64_t n0, int64_t n) {
    if (gx) {
      const BackwardData& e = backward_data_entry(s, n);
      memory diff_dst = e.diff_dst.input(gy + n0 * y_size, kDst);
      memory wei = e.wei.input(w, kWei, ready.md, ready.data);
      memory diff_src = e.diff_src.output(gx + n0 * x_size, kSrc);
      e.prim.execute(thread_stream(), {{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, wei},
                                       {DNNL_ARG_DIFF_SRC, diff_src}, {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}});
      e.diff_src.finish(diff_src, gx + n0 * x_size);
    }
    if (need_w) {
      const BackwardWeights& e = backward_weights_entry(s, n, gb != nullptr);
      float* part = partial + t * part_size;
      memory src = e.src.input(x + n0 * x_size, kSrc), diff_dst = e.diff_dst.input(gy + n0 * y_size, kDst);
      memory diff_wei = sum_in_prim ? memory(e.diff_wei.prim, cpu_engine(), part) : e.diff_wei.output(part, kWei);
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst},
                                              {DNNL_ARG_DIFF_WEIGHTS, diff_wei},
                                              {DNNL_ARG_SCRATCHPAD, scratchpad(e.scratch)}};
      if (gb) args.insert({DNNL_ARG_DIFF_BIAS, memory(memory::desc({s.o}, dt::f32, tag::x), cpu_engine(), part + gw_floats)});
      e.prim.execute(thread_stream(), args);
      if (!sum_in_prim) e.diff_wei.finish(diff_wei, part);
    }
  });
  if (!need_w) return;
  float* total = thread_buffer(kTotal, size_t(part_size) * sizeof(float));
  std::fill(total, total + part_size, 0.0f);
  for (int t = 0; t < chunks; ++t) {
    if (s.n * (t + 1) / chunks == s.n * t / chunks) continue;  // an empty chunk wrote nothing
    const float* part = partial + t * part_size;
    for (int64_t i = 0; i < part_size; ++i) total[i] += part[i];
  }
  if (gb) std::copy(total + gw_floats, total + part_size, gb);
  if (!gw) return;
  if (!sum_in_prim) {
    std::copy(total, total + w_size, gw);
    return;
  }
  as_one_thread([&] {
    const Operand& op = backward_weights_entry(s, s.n / chunks, gb != nullptr).diff_wei;
    memory m(op.prim, cpu_engine(), total), u(op.user, cpu_engine(), gw);
    op.to_user.execute(thread_stream(), m, u);
  });
}

#endif  // EMBER_WITH_DNNL

}  // namespace ember::dnnl_conv
