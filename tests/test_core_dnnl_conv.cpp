// conv2d on oneDNN (core/cpu/dnnl_conv.cpp) against Ember's reference kernels: forward, grad_x,
// grad_w and grad_b on shapes with stride, padding, dilation, groups (depthwise too), uneven batch
// chunks and small deep-layer maps; bit-identity across runs and thread counts; the method rule.
// In a build without oneDNN the comparisons are skipped (and say so); the rule's checks still run.
#include <cstring>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/cpu/dnnl_conv.h"
#include "ember/core/parallel.h"
#include "helpers.h"

using namespace ember;
using namespace ember::test;

namespace {

struct Case {
  int64_t n, c, h, w, o, k, stride, pad, dilation, groups;
  bool bias;
};

dnnl_conv::Shape shape_of(const Case& k) {
  const int64_t ext = (k.k - 1) * k.dilation + 1;
  const int64_t ho = (k.h + 2 * k.pad - ext) / k.stride + 1, wo = (k.w + 2 * k.pad - ext) / k.stride + 1;
  return {k.n, k.c, k.h, k.w, k.o, k.k, k.k, k.groups, k.stride, k.stride, k.pad, k.pad, k.dilation, k.dilation, ho, wo};
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

float* data(const Tensor& t) { return t.defined() ? static_cast<float*>(t.raw_data()) : nullptr; }

struct Result {
  Tensor y, gx, gw, gb;
};

// The oneDNN path, called directly.
Result run_dnnl(const Case& k, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy) {
  const dnnl_conv::Shape s = shape_of(k);
  Result r{empty(gy.shape()), empty(x.shape()), empty(w.shape()), k.bias ? empty(b.shape()) : Tensor()};
  dnnl_conv::forward(s, data(x), data(w), data(b), data(r.y));
  dnnl_conv::backward(s, data(gy), data(x), data(w), data(r.gx), data(r.gw), data(r.gb));
  return r;
}

// The reference: Ember's own kernels in float64 through the public op (the direct kernel for one
// group without dilation, im2col + GEMM otherwise; oneDNN takes float32 only), gradients of sum(y * gy).
Result run_reference(const Case& k, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy) {
  Tensor xd = x.to(kFloat64).requires_grad_(), wd = w.to(kFloat64).requires_grad_();
  Tensor bd = k.bias ? b.to(kFloat64).requires_grad_() : Tensor();
  Tensor y = conv2d(xd, wd, bd, k.stride, k.pad, k.dilation, k.groups);
  sum(mul(y, gy.to(kFloat64))).backward();
  return {y.detach(), xd.grad(), wd.grad(), k.bias ? bd.grad() : Tensor()};
}

const std::vector<Case> kCases = {
    {4, 3, 9, 9, 8, 3, 1, 1, 1, 1, true},      // 3x3, padding 1
    {5, 6, 10, 7, 12, 3, 2, 1, 1, 1, true},    // stride 2, odd and unequal sides
    {9, 16, 8, 8, 32, 3, 1, 1, 1, 1, true},    // 9 samples: chunks of 2 and 3
    {6, 16, 7, 7, 32, 1, 2, 0, 1, 1, true},    // 1x1 downsample
    {3, 4, 8, 8, 6, 4, 2, 1, 1, 1, false},     // DCGAN's 4x4 stride 2, no bias
    {2, 8, 11, 11, 8, 3, 1, 1, 1, 8, true},    // depthwise
    {3, 6, 9, 9, 9, 3, 1, 2, 2, 3, true},      // groups 3, dilation 2
    {64, 10, 12, 12, 20, 5, 1, 0, 1, 1, true}, // MNISTNet's conv2
    {16, 64, 2, 2, 64, 3, 1, 1, 1, 1, true},   // a deep layer's 2x2 map
    {8, 32, 1, 1, 48, 3, 1, 1, 1, 1, true},    // 1x1 map, 3x3 kernel: only the centre tap sees data
};

}  // namespace

TEST_SUITE("conv2d on oneDNN") {
  TEST_CASE("forward and both gradients match Ember's reference kernels") {
    if (!dnnl_conv::compiled()) {
      MESSAGE("skipped: this build has no oneDNN (EMBER_DNNL)");
      return;
    }
    Generator gen(11);
    for (const Case& k : kCases) {
      const dnnl_conv::Shape s = shape_of(k);
      INFO("case N ", k.n, " C ", k.c, " H ", k.h, " W ", k.w, " O ", k.o, " k ", k.k, " stride ", k.stride,
           " padding ", k.pad, " dilation ", k.dilation, " groups ", k.groups);
      Tensor x = randn({k.n, k.c, k.h, k.w}, gen), w = randn({k.o, k.c / k.groups, k.k, k.k}, gen);
      Tensor b = k.bias ? randn({k.o}, gen) : Tensor(), gy = randn({k.n, k.o, s.ho, s.wo}, gen);
      const Result got = run_dnnl(k, x, w, b, gy), want = run_reference(k, x, w, b, gy);
      check_close(got.y.to(kFloat64), want.y, 1e-4, 1e-4, "y");
      check_close(got.gx.to(kFloat64), want.gx, 1e-4, 1e-4, "grad_x");
      check_close(got.gw.to(kFloat64), want.gw, 1e-4, 1e-3, "grad_w");
      if (k.bias) check_close(got.gb.to(kFloat64), want.gb, 1e-4, 1e-3, "grad_b");
      // The float32 op as a network calls it (with dilation or groups: through the backend's
      // library kernels where the rule takes the shape, else im2col + GEMM).
      Tensor xf = x.detach().requires_grad_(), wf = w.detach().requires_grad_();
      Tensor bf = k.bias ? b.detach().requires_grad_() : Tensor();
      Tensor y = conv2d(xf, wf, bf, k.stride, k.pad, k.dilation, k.groups);
      sum(mul(y, gy)).backward();
      check_close(y.detach().to(kFloat64), want.y, 1e-4, 1e-4, "op y");
      check_close(xf.grad().to(kFloat64), want.gx, 1e-4, 1e-4, "op grad_x");
      check_close(wf.grad().to(kFloat64), want.gw, 1e-4, 1e-3, "op grad_w");
      if (k.bias) check_close(bf.grad().to(kFloat64), want.gb, 1e-4, 1e-3, "op grad_b");
    }
  }

  TEST_CASE("the float32 op agrees with the direct kernel wherever the rule sends it") {
    // Through the backend, as a network calls it: whichever method the rule picks.
    Generator gen(12);
    for (const Case& k : kCases) {
      if (k.groups != 1 || k.dilation != 1) continue;
      const Conv2dArgs args{k.stride, k.pad};
      const dnnl_conv::Shape s = shape_of(k);
      Tensor x = randn({k.n, k.c, k.h, k.w}, gen), w = randn({k.o, k.c, k.k, k.k}, gen), b = randn({k.o}, gen);
      Tensor gy = randn({k.n, k.o, s.ho, s.wo}, gen);
      Tensor y1 = empty(gy.shape()), y2 = empty(gy.shape());
      cpu_backend().conv2d_forward(x, w, b, args, y1);
      conv2d_forward_direct(x, w, b, args, y2);
      check_close(y1, y2, 1e-4, 1e-4, "y");
      Tensor gx1 = empty(x.shape()), gw1 = empty(w.shape()), gb1 = empty(b.shape());
      Tensor gx2 = empty(x.shape()), gw2 = empty(w.shape()), gb2 = empty(b.shape());
      cpu_backend().conv2d_backward(gy, x, w, args, gx1, gw1, gb1);
      conv2d_backward_direct(gy, x, w, args, gx2, gw2, gb2);
      check_close(gx1, gx2, 1e-4, 1e-4, "grad_x");
      check_close(gw1, gw2, 1e-4, 1e-3, "grad_w");
      check_close(gb1, gb2, 1e-4, 1e-3, "grad_b");
      // Only some gradients asked for: the others stay undefined and the asked ones are unchanged.
      Tensor none1, none2, gw3 = empty(w.shape());
      cpu_backend().conv2d_backward(gy, x, w, args, none1, gw3, none2);
      CHECK_FALSE(none1.defined());
      CHECK(same_bits(gw3, gw1));
    }
  }

  TEST_CASE("results are bit-identical across runs and thread counts") {
    if (!dnnl_conv::compiled()) {
      MESSAGE("skipped: this build has no oneDNN (EMBER_DNNL)");
      return;
    }
    const int saved = get_num_threads();
    const Case k{64, 32, 8, 8, 64, 3, 1, 1, 1, 1, true};
    REQUIRE(dnnl_conv::rule(shape_of(k)));
    Generator gen(13);
    Tensor x = randn({64, 32, 8, 8}, gen), w = randn({64, 32, 3, 3}, gen), b = randn({64}, gen);
    Tensor gy = randn({64, 64, 8, 8}, gen);
    auto run = [&](int threads) {
      set_num_threads(threads);
      return run_dnnl(k, x, w, b, gy);
    };
    const Result two_a = run(2), two_b = run(2), one = run(1), three = run(3);
    set_num_threads(saved);
    for (const Result* r : {&two_b, &one, &three}) {
      CHECK(same_bits(r->y, two_a.y));
      CHECK(same_bits(r->gx, two_a.gx));
      CHECK(same_bits(r->gw, two_a.gw));
      CHECK(same_bits(r->gb, two_a.gb));
    }
  }

  TEST_CASE("the rule keeps MNISTNet's layers on the direct kernel and deep layers on oneDNN") {
    CHECK_FALSE(dnnl_conv::rule(shape_of({64, 1, 28, 28, 10, 5, 1, 0, 1, 1, true})));
    CHECK_FALSE(dnnl_conv::rule(shape_of({64, 10, 12, 12, 20, 5, 1, 0, 1, 1, true})));
    CHECK(dnnl_conv::rule(shape_of({64, 64, 7, 7, 64, 3, 1, 1, 1, 1, true})));
    CHECK(dnnl_conv::rule(shape_of({64, 512, 1, 1, 512, 3, 1, 1, 1, 1, true})));
    CHECK(dnnl_conv::rule(shape_of({64, 64, 32, 32, 64, 3, 1, 1, 1, 64, true})));
    // The same shape gets the same answer every time: nothing measured at run time.
    const dnnl_conv::Shape s = shape_of({64, 128, 4, 4, 256, 3, 2, 1, 1, 1, true});
    CHECK(dnnl_conv::rule(s) == dnnl_conv::rule(s));
  }
}
