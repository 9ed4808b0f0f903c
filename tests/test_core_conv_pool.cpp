// conv2d and max_pool2d: values against hand computations and a naive reference, gradients against
// central differences, input checks, and thread-count determinism.
#include <cmath>
#include <cstring>
#include <limits>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/parallel.h"
#include "helpers.h"

using namespace ember;
using namespace ember::test;

namespace {

// Direct 7-loop convolution in double: the definition the kernels must agree with.
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, IntPair s, IntPair p) {
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> bv = b.defined() ? b.to_vector<double>() : std::vector<double>(size_t(w.size(0)), 0.0);
  int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  int64_t O = w.size(0), KH = w.size(2), KW = w.size(3);
  int64_t HO = (H + 2 * p.h - KH) / s.h + 1, WO = (W + 2 * p.w - KW) / s.w + 1;
  std::vector<double> y(size_t(N * O * HO * WO));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < HO; ++oh)
        for (int64_t ow = 0; ow < WO; ++ow) {
          double acc = bv[size_t(o)];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                int64_t ih = oh * s.h - p.h + i, iw = ow * s.w - p.w + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += xv[size_t(((n * C + c) * H + ih) * W + iw)] * wv[size_t(((o * C + c) * KH + i) * KW + j)];
              }
          y[size_t(((n * O + o) * HO + oh) * WO + ow)] = acc;
        }
  return from_vector(y, {N, O, HO, WO}).to(x.dtype());
}

// Direct max-pool with PyTorch's rules (padding never wins, first maximum, a NaN always replaces).
std::pair<std::vector<double>, std::vector<int64_t>> naive_max_pool2d(const Tensor& x, Pool2dArgs a) {
  auto xv = x.to_vector<double>();
  int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  int64_t HO = (H + 2 * a.padding.h - a.kernel.h) / a.stride.h + 1;
  int64_t WO = (W + 2 * a.padding.w - a.kernel.w) / a.stride.w + 1;
  std::vector<double> y;
  std::vector<int64_t> idx;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < HO; ++oh)
      for (int64_t ow = 0; ow < WO; ++ow) {
        double best = -std::numeric_limits<double>::infinity();
        int64_t bi = -1;
        for (int64_t i = 0; i < a.kernel.h; ++i)
          for (int64_t j = 0; j < a.kernel.w; ++j) {
            int64_t ih = oh * a.stride.h - a.padding.h + i, iw = ow * a.stride.w - a.padding.w + j;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            double v = xv[size_t((p * H + ih) * W + iw)];
            if (bi < 0) bi = ih * W + iw;
            if (v > best || std::isnan(v)) {
              best = v;
              bi = ih * W + iw;
            }
          }
        y.push_back(best);
        idx.push_back(bi);
      }
  return {y, idx};
}

Tensor randn64(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, gen, kFloat64);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0;
}

// Restores the thread count a test changed.
struct ThreadCountGuard {
  int saved = get_num_threads();
  ~ThreadCountGuard() { set_num_threads(saved); }
};

}  // namespace

TEST_SUITE("conv2d") {
  TEST_CASE("hand-computed values, with bias, stride and padding") {
    Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
    Tensor w = from_vector<double>({1, 2, 3, 4}, {1, 1, 2, 2});
    Tensor b = from_vector<double>({1}, {1});
    // y[i, j] = x[i, j] + 2 x[i, j+1] + 3 x[i+1, j] + 4 x[i+1, j+1] + 1
    CHECK(conv2d(x, w, b).to_vector<double>() == std::vector<double>{38, 48, 68, 78});
    CHECK(conv2d(x, w).to_vector<double>() == std::vector<double>{37, 47, 67, 77});
    // Padded to 5x5, windows at rows/cols {0, 2}: the corner window sees only x[0, 0] under w[1, 1].
    Tensor y = conv2d(x, w, b, 2, 1);
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector<double>() == std::vector<double>{5, 19, 37, 78});
    // Two output channels from two input channels: channel sums are independent.
    Tensor x2 = from_vector<double>({1, 2, 3, 4, 10, 20, 30, 40}, {1, 2, 2, 2});
    Tensor w2 = from_vector<double>({1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1}, {2, 2, 2, 2});
    CHECK(conv2d(x2, w2).to_vector<double>() == std::vector<double>{10, 50});
  }

  TEST_CASE("matches a direct convolution for strides, paddings and non-square shapes") {
    struct Case { Shape x, w; IntPair stride, padding; bool bias; };
    std::vector<Case> cases = {
        {{2, 3, 7, 5}, {4, 3, 3, 2}, 1, 0, true},   {{2, 3, 7, 5}, {4, 3, 3, 3}, 2, 1, false},
        {{3, 2, 6, 9}, {5, 2, 1, 1}, 1, 0, true},   {{1, 4, 8, 8}, {2, 4, 3, 3}, {2, 1}, {1, 0}, true},
        {{5, 1, 28, 28}, {10, 1, 5, 5}, 1, 0, true}, {{4, 10, 12, 12}, {20, 10, 5, 5}, 1, 0, true},
        {{2, 2, 5, 5}, {3, 2, 5, 5}, 3, 2, true},   {{2, 3, 4, 6}, {2, 3, 2, 2}, {1, 3}, {1, 1}, false},
    };
    uint64_t seed = 10;
    for (const Case& c : cases) {
      Tensor x = randn64(c.x, seed++), w = randn64(c.w, seed++);
      Tensor b = c.bias ? randn64({c.w[0]}, seed++) : Tensor();
      Tensor expected = naive_conv2d(x, w, b, c.stride, c.padding);
      std::string what = "x " + shape_str(c.x) + " w " + shape_str(c.w);
      check_close(conv2d(x, w, b, c.stride, c.padding), expected, 1e-12, 1e-12, what + " float64");
      Tensor b32 = b.defined() ? b.to(kFloat32) : Tensor();
      check_close(conv2d(x.to(kFloat32), w.to(kFloat32), b32, c.stride, c.padding), expected.to(kFloat32), 1e-4,
                  1e-4, what + " float32");
    }
  }

  TEST_CASE("gradients match central differences") {
    struct Case { Shape x, w; IntPair stride, padding; bool bias; };
    std::vector<Case> cases = {
        {{2, 3, 5, 6}, {4, 3, 3, 2}, 1, 0, true},  {{2, 3, 5, 6}, {4, 3, 3, 2}, 1, 0, false},
        {{2, 2, 7, 5}, {3, 2, 3, 3}, 2, 0, true},  {{2, 2, 5, 7}, {3, 2, 3, 3}, 1, 1, true},
        {{1, 2, 6, 5}, {2, 2, 3, 2}, 2, 1, true},  {{2, 2, 4, 5}, {3, 2, 1, 1}, 1, 0, true},
        {{1, 3, 5, 6}, {2, 3, 2, 3}, {2, 1}, {1, 0}, false},
    };
    uint64_t seed = 100;
    for (const Case& c : cases) {
      Tensor x = randn64(c.x, seed++).requires_grad_();
      Tensor w = randn64(c.w, seed++).requires_grad_();
      std::vector<Tensor> inputs = {x, w};
      if (c.bias) inputs.push_back(randn64({c.w[0]}, seed++).requires_grad_());
      auto f = [&](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), c.stride, c.padding);
      };
      INFO("x ", shape_str(c.x), " w ", shape_str(c.w), " stride ", c.stride.h, ",", c.stride.w, " padding ",
           c.padding.h, ",", c.padding.w);
      CHECK(gradcheck(f, inputs) == "");
    }
  }

  TEST_CASE("float32 gradients agree with the (gradchecked) float64 ones") {
    struct Case { Shape x, w; IntPair stride, padding; };
    std::vector<Case> cases = {
        {{4, 1, 28, 28}, {10, 1, 5, 5}, 1, 0},   {{4, 10, 12, 12}, {20, 10, 5, 5}, 1, 0},
        {{3, 3, 9, 29}, {30, 3, 3, 3}, 1, 1},    {{2, 4, 11, 10}, {7, 4, 3, 3}, 2, 1},
        {{2, 5, 6, 13}, {9, 5, 1, 1}, 1, 0},     {{2, 2, 10, 17}, {3, 2, 4, 2}, {1, 3}, {2, 1}},
    };
    uint64_t seed = 300;
    for (const Case& c : cases) {
      Tensor x64 = randn64(c.x, seed++), w64 = randn64(c.w, seed++), b64 = randn64({c.w[0]}, seed++);
      Tensor gy64 = randn64({c.x[0], c.w[0], (c.x[2] + 2 * c.padding.h - c.w[2]) / c.stride.h + 1,
                             (c.x[3] + 2 * c.padding.w - c.w[3]) / c.stride.w + 1},
                            seed++);
      auto grads = [&](DType dt) {
        Tensor x = x64.to(dt).detach().requires_grad_(), w = w64.to(dt).detach().requires_grad_();
        Tensor b = b64.to(dt).detach().requires_grad_();
        Tensor y = conv2d(x, w, b, c.stride, c.padding);
        y.backward(gy64.to(dt));
        return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
      };
      auto g64 = grads(kFloat64), g32 = grads(kFloat32);
      std::string what = "x " + shape_str(c.x) + " w " + shape_str(c.w);
      const char* names[] = {" y", " grad_x", " grad_w", " grad_b"};
      for (size_t i = 0; i < 4; ++i) check_close(g32[i].to(kFloat64), g64[i], 1e-4, 2e-4, what + names[i]);
    }
  }

  TEST_CASE("a NaN in the input reaches only the weight gradients of the taps that see it") {
    // Output rows of 11 columns end mid-vector; the NaN sits in the last input column, which only
    // kernel column j = 2 reads. Lanes past the row's end must not carry it into j = 0 or 1.
    for (DType dt : {kFloat32, kFloat64}) {
      std::vector<double> v(5 * 13, 1.0);
      v[2 * 13 + 12] = std::numeric_limits<double>::quiet_NaN();
      Tensor x = from_vector(v, {1, 1, 5, 13}).to(dt);
      Tensor w = ones({1, 1, 3, 3}, dt).requires_grad_();
      sum(conv2d(x, w)).backward();
      INFO(dtype_name(dt));
      for (int64_t i = 0; i < 3; ++i) {
        CHECK(w.grad().at({0, 0, i, 0}) == 33.0);  // 3 rows x 11 columns of ones
        CHECK(w.grad().at({0, 0, i, 1}) == 33.0);
        CHECK(std::isnan(w.grad().at({0, 0, i, 2})));
      }
    }
  }

  TEST_CASE("only the inputs that require grad get a gradient") {
    Tensor x = randn64({2, 1, 6, 6}, 1);  // like a network's first layer: no grad for the images
    Tensor w = randn64({3, 1, 3, 3}, 2).requires_grad_();
    Tensor b = randn64({3}, 3);
    sum(conv2d(x, w, b)).backward();
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(b.grad().defined());
    REQUIRE(w.grad().defined());
    // d sum(y) / d w[o, 0, i, j] = sum of the inputs that w[o, 0, i, j] meets.
    double expected = 0;
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 4; ++c) expected += x.at({0, 0, r, c}) + x.at({1, 0, r, c});
    CHECK(w.grad().at({1, 0, 0, 0}) == doctest::Approx(expected).epsilon(1e-12));
  }

  TEST_CASE("conv2d_backward skips an undefined grad_x and still writes grad_w and grad_b") {
    Tensor x = randn64({3, 2, 6, 5}, 7), w = randn64({4, 2, 3, 3}, 8), gy = randn64({3, 4, 4, 3}, 9);
    Conv2dArgs args{1, 0};
    Tensor gx = empty(x.shape(), kFloat64), gw = empty(w.shape(), kFloat64), gb = empty({4}, kFloat64);
    cpu_backend().conv2d_backward(gy, x, w, args, gx, gw, gb);
    Tensor none, gw2 = full(w.shape(), 123.0, kFloat64), gb2 = full({4}, 123.0, kFloat64);
    cpu_backend().conv2d_backward(gy, x, w, args, none, gw2, gb2);
    CHECK_FALSE(none.defined());
    check_close(gw2, gw, 1e-12, 1e-12, "grad_w without grad_x");  // written, not accumulated
    check_close(gb2, gb, 1e-12, 1e-12, "grad_b without grad_x");
    check_close(gb, sum(sum(sum(gy, 3), 2), 0), 1e-12, 1e-12, "grad_b is grad_y summed over N, H, W");
    Tensor gx_only = empty(x.shape(), kFloat64), u1, u2;
    cpu_backend().conv2d_backward(gy, x, w, args, gx_only, u1, u2);
    check_close(gx_only, gx, 1e-12, 1e-12, "grad_x alone");
  }

  TEST_CASE("output and gradients are bit-identical across runs and thread counts") {
    ThreadCountGuard guard;
    Generator gen(5);
    Tensor x = randn({64, 10, 12, 12}, gen), w = randn({20, 10, 5, 5}, gen), b = randn({20}, gen);
    w.requires_grad_();
    b.requires_grad_();
    auto run = [&](int threads) {
      set_num_threads(threads);
      w.set_grad(Tensor());
      b.set_grad(Tensor());
      Tensor y = conv2d(x, w, b);
      sum(mul(y, y)).backward();
      return std::vector<Tensor>{y.detach(), w.grad(), b.grad()};
    };
    // The batch is cut into the same chunks whatever the thread count (up to 8), so even the
    // weight gradients, summed per chunk, come out the same.
    auto two_a = run(2), two_b = run(2), one = run(1), three = run(3);
    for (size_t i = 0; i < 3; ++i) {
      CHECK(same_bits(two_a[i], two_b[i]));
      CHECK(same_bits(one[i], two_a[i]));
      CHECK(same_bits(three[i], two_a[i]));
    }
  }

  TEST_CASE("input errors name the op and the shapes") {
    Tensor x = zeros({2, 3, 8, 8}), w = zeros({10, 3, 5, 5}), b = zeros({10});
    std::string e = error_of([&] { conv2d(x, zeros({10, 1, 5, 5})); });
    CHECK(e.find("conv2d: expected weight of shape [O, 3, kh, kw] for input with 3 channels, found [10, 1, 5, 5]") !=
          std::string::npos);
    e = error_of([&] { conv2d(zeros({3, 8, 8}), w); });
    CHECK(e.find("conv2d") != std::string::npos);
    CHECK(e.find("[3, 8, 8]") != std::string::npos);
    e = error_of([&] { conv2d(x, zeros({10, 3, 5})); });
    CHECK(e.find("conv2d") != std::string::npos);
    CHECK(e.find("[10, 3, 5]") != std::string::npos);
    e = error_of([&] { conv2d(x, zeros({10, 3, 5, 5}, kFloat64)); });
    CHECK(e.find("conv2d") != std::string::npos);
    CHECK(e.find("float64") != std::string::npos);
    CHECK(e.find("float32") != std::string::npos);
    e = error_of([&] { conv2d(zeros({2, 3, 8, 8}, kInt64), zeros({10, 3, 5, 5}, kInt64)); });
    CHECK(e.find("conv2d") != std::string::npos);
    CHECK(e.find("int64") != std::string::npos);
    e = error_of([&] { conv2d(x, w, zeros({7})); });
    CHECK(e.find("conv2d: expected bias of shape [10]") != std::string::npos);
    CHECK(e.find("found [7]") != std::string::npos);
    e = error_of([&] { conv2d(zeros({2, 3, 4, 4}), w); });
    CHECK(e.find("conv2d: kernel [5, 5] is larger than the padded input [4, 4]") != std::string::npos);
    CHECK(error_of([&] { conv2d(zeros({2, 3, 4, 4}), w, b, 1, 1); }) == "");  // padded to 6x6: fits
    e = error_of([&] { conv2d(x, w, b, 0); });
    CHECK(e.find("conv2d: expected a positive stride, found [0, 0]") != std::string::npos);
    e = error_of([&] { conv2d(x, w, b, {1, -2}); });
    CHECK(e.find("found [1, -2]") != std::string::npos);
    e = error_of([&] { conv2d(x, w, b, 1, -1); });
    CHECK(e.find("conv2d: expected a non-negative padding, found [-1, -1]") != std::string::npos);
    CHECK(error_of([&] { conv2d(x, w, b); }) == "");
  }
}

TEST_SUITE("max_pool2d") {
  TEST_CASE("hand-computed values and indices, kernel 2 stride 2") {
    // Window maxima: 5 (top left), 8 (top right), 9 (bottom left), 7 (bottom right).
    Tensor x = from_vector<double>({1, 5, 2, 0,  //
                                    3, 4, 8, 1,  //
                                    9, 0, 6, 6,  //
                                    2, 2, 7, 6},
                                   {1, 1, 4, 4});
    Tensor y = max_pool2d(x, 2);
    CHECK(y.shape() == Shape{1, 1, 2, 2});
    CHECK(y.to_vector<double>() == std::vector<double>{5, 8, 9, 7});
    Tensor out = empty({1, 1, 2, 2}, kFloat64), idx = empty({1, 1, 2, 2}, kInt64);
    cpu_backend().max_pool2d_forward(x, Pool2dArgs{2, 2, 0}, out, idx);
    CHECK(idx.to_vector<int64_t>() == std::vector<int64_t>{1, 6, 8, 14});
    // The gradient goes to the maxima only.
    Tensor xg = x.clone().requires_grad_();
    sum(max_pool2d(xg, 2)).backward();
    CHECK(xg.grad().to_vector<double>() == std::vector<double>{0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0});
  }

  TEST_CASE("ties: the first maximum in the window wins, as PyTorch") {
    Tensor x = full({1, 1, 4, 4}, 2.0, kFloat32);
    Tensor out = empty({1, 1, 2, 2}), idx = empty({1, 1, 2, 2}, kInt64);
    cpu_backend().max_pool2d_forward(x, Pool2dArgs{2, 2, 0}, out, idx);
    CHECK(idx.to_vector<int64_t>() == std::vector<int64_t>{0, 2, 8, 10});
    // Overlapping windows (kernel 3, stride 1) that pick the same element add up its gradient.
    Tensor z = from_vector<double>({0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0}, {1, 1, 3, 4}).requires_grad_();
    sum(max_pool2d(z, 3, 1)).backward();
    CHECK(z.grad().at({0, 0, 1, 2}) == 2.0);
    CHECK(sum(z.grad()).item() == 2.0);
  }

  TEST_CASE("hand-computed values, kernel 3 stride 2 padding 1 (padding never wins)") {
    // All negative, so a zero-padded border would wrongly win.
    Tensor x = from_vector<double>({-9, -8, -7, -6, -5,  //
                                    -4, -3, -2, -1, -10,  //
                                    -11, -12, -13, -14, -15},
                                   {1, 1, 3, 5});
    Tensor y = max_pool2d(x, 3, 2, 1);
    REQUIRE(y.shape() == Shape{1, 1, 2, 3});
    // Windows: rows {-1..1, 1..3} x cols {-1..1, 1..3, 3..5}.
    CHECK(y.to_vector<double>() == std::vector<double>{-3, -1, -1, -3, -1, -1});
    Tensor out = empty({1, 1, 2, 3}, kFloat64), idx = empty({1, 1, 2, 3}, kInt64);
    cpu_backend().max_pool2d_forward(x, Pool2dArgs{3, 2, 1}, out, idx);
    CHECK(idx.to_vector<int64_t>() == std::vector<int64_t>{6, 8, 8, 6, 8, 8});
  }

  TEST_CASE("matches a direct reference, with ties and NaN, in float32 and float64") {
    struct Case { Shape x; Pool2dArgs args; };
    std::vector<Case> cases = {
        {{2, 3, 8, 26}, {2, 2, 0}},  {{1, 2, 9, 9}, {2, 2, 0}},       {{2, 2, 24, 24}, {2, 2, 0}},
        {{1, 3, 7, 11}, {3, 2, 1}},  {{1, 2, 6, 10}, {{2, 3}, {1, 2}, {1, 1}}}, {{2, 1, 5, 9}, {2, 1, 0}},
    };
    // Values from a handful of levels, so windows hold ties; a few NaNs.
    Generator gen(42);
    for (const Case& c : cases)
      for (DType dt : {kFloat32, kFloat64}) {
        std::vector<double> v(size_t(shape_numel(c.x)));
        for (double& e : v) {
          uint32_t r = gen.next_u32() % 64;
          e = r == 0 ? std::numeric_limits<double>::quiet_NaN() : double(r % 4) - 1.0;
        }
        Tensor x = from_vector(v, c.x).to(dt);
        auto [y_ref, idx_ref] = naive_max_pool2d(x, c.args);
        Shape out{c.x[0], c.x[1], 0, 0};
        out[2] = (c.x[2] + 2 * c.args.padding.h - c.args.kernel.h) / c.args.stride.h + 1;
        out[3] = (c.x[3] + 2 * c.args.padding.w - c.args.kernel.w) / c.args.stride.w + 1;
        Tensor y = empty(out, dt), idx = empty(out, kInt64);
        cpu_backend().max_pool2d_forward(x, c.args, y, idx);
        INFO("x ", shape_str(c.x), " ", dtype_name(dt));
        CHECK(idx.to_vector<int64_t>() == idx_ref);
        auto yv = y.to_vector<double>();
        size_t bad = 0;
        for (size_t i = 0; i < yv.size(); ++i)
          if (!(yv[i] == y_ref[i] || (std::isnan(yv[i]) && std::isnan(y_ref[i])))) ++bad;
        CHECK(bad == 0);
      }
  }

  TEST_CASE("NaN propagates") {
    Tensor x = from_vector<float>({1, std::numeric_limits<float>::quiet_NaN(), 3, 4}, {1, 1, 2, 2});
    CHECK(std::isnan(max_pool2d(x, 2).item()));
  }

  TEST_CASE("gradients match central differences") {
    struct Case { Shape x; IntPair kernel, stride, padding; };
    std::vector<Case> cases = {
        {{2, 3, 6, 8}, 2, 2, 0}, {{2, 2, 7, 5}, 3, 2, 1}, {{1, 2, 5, 6}, {2, 3}, {1, 2}, {1, 1}},
        {{2, 2, 6, 6}, 3, 1, 0},
    };
    uint64_t seed = 200;
    for (const Case& c : cases) {
      Tensor x = distinct_values(c.x, -2.0, 2.0, seed++).requires_grad_();
      auto f = [&](const std::vector<Tensor>& in) { return max_pool2d(in[0], c.kernel, c.stride, c.padding); };
      INFO("x ", shape_str(c.x), " kernel ", c.kernel.h, ",", c.kernel.w, " stride ", c.stride.h, ",", c.stride.w,
           " padding ", c.padding.h, ",", c.padding.w);
      CHECK(gradcheck(f, {x}) == "");
    }
  }

  TEST_CASE("output is bit-identical across thread counts") {
    ThreadCountGuard guard;
    Generator gen(3);
    Tensor x = randn({64, 10, 24, 24}, gen);
    set_num_threads(1);
    Tensor one = max_pool2d(x, 2);
    set_num_threads(2);
    Tensor two = max_pool2d(x, 2), again = max_pool2d(x, 2);
    CHECK(same_bits(one, two));
    CHECK(same_bits(two, again));
  }

  TEST_CASE("input errors name the op and the shapes") {
    Tensor x = zeros({2, 3, 8, 8});
    std::string e = error_of([&] { max_pool2d(zeros({3, 8}), 2); });
    CHECK(e.find("max_pool2d: expected 4-D input") != std::string::npos);
    CHECK(e.find("[3, 8]") != std::string::npos);
    e = error_of([&] { max_pool2d(zeros({2, 3, 8, 8}, kInt64), 2); });
    CHECK(e.find("max_pool2d") != std::string::npos);
    CHECK(e.find("int64") != std::string::npos);
    e = error_of([&] { max_pool2d(x, 9); });
    CHECK(e.find("max_pool2d: kernel [9, 9] is larger than the padded input [8, 8]") != std::string::npos);
    e = error_of([&] { max_pool2d(x, 2, -1); });
    CHECK(e.find("max_pool2d: expected a positive stride, found [-1, -1]") != std::string::npos);
    e = error_of([&] { max_pool2d(x, 0); });
    CHECK(e.find("max_pool2d: expected a positive kernel size, found [0, 0]") != std::string::npos);
    e = error_of([&] { max_pool2d(x, 3, 1, 2); });
    CHECK(e.find("max_pool2d: padding [2, 2] should be at most half of the kernel size [3, 3]") != std::string::npos);
    CHECK(error_of([&] { max_pool2d(x, 3, 1, 1); }) == "");
    e = error_of([&] { max_pool2d(x, 2, 1, -1); });
    CHECK(e.find("max_pool2d: expected a non-negative padding") != std::string::npos);
  }
}
