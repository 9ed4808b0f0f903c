// batch_norm, dropout, log_softmax, nll_loss and cross_entropy: gradients, hand-checked values,
// reproducibility, and the errors users see.
#include <cmath>
#include <string>

#include "ember/core/parallel.h"
#include "helpers.h"

using namespace ember;
using namespace ember::test;

namespace {

Tensor leaf(Tensor t) { return t.requires_grad_(); }

Tensor f64(const std::vector<double>& v, Shape shape) { return from_vector(v, std::move(shape)); }

// Reference batch norm in double on the host: x (N, C, S) -> y, with the given per-channel mean/var.
std::vector<double> reference_bn(const std::vector<double>& x, int64_t N, int64_t C, int64_t S,
                                 const std::vector<double>& mean, const std::vector<double>& var, double eps) {
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s = 0; s < S; ++s) {
        size_t i = size_t((n * C + c) * S + s);
        y[i] = (x[i] - mean[size_t(c)]) / std::sqrt(var[size_t(c)] + eps);
      }
  return y;
}

}  // namespace

TEST_SUITE("batch_norm") {
  TEST_CASE("gradcheck in training, 2-D and 4-D, with and without affine") {
    for (Shape shape : {Shape{5, 3}, Shape{3, 2, 3, 2}}) {
      const int64_t C = shape[1];
      for (bool affine : {true, false}) {
        for (bool track : {true, false}) {
          CAPTURE(shape_str(shape));
          CAPTURE(affine);
          CAPTURE(track);
          Tensor rm = track ? zeros({C}, kFloat64) : Tensor();
          Tensor rv = track ? ones({C}, kFloat64) : Tensor();
          std::vector<Tensor> inputs{leaf(distinct_values(shape, -2.0, 3.0, 7))};
          if (affine) {
            inputs.push_back(leaf(distinct_values({C}, 0.5, 2.0, 8)));
            inputs.push_back(leaf(distinct_values({C}, -1.0, 1.0, 9)));
          }
          auto f = [&](const std::vector<Tensor>& in) {
            return batch_norm(in[0], rm, rv, affine ? in[1] : Tensor(), affine ? in[2] : Tensor(), true);
          };
          CHECK(gradcheck(f, inputs) == "");
        }
      }
    }
  }

  TEST_CASE("gradcheck in eval mode, 2-D and 4-D, with and without affine") {
    for (Shape shape : {Shape{4, 3}, Shape{2, 3, 2, 2}}) {
      const int64_t C = shape[1];
      for (bool affine : {true, false}) {
        CAPTURE(shape_str(shape));
        CAPTURE(affine);
        Tensor rm = distinct_values({C}, -0.5, 0.5, 3);
        Tensor rv = distinct_values({C}, 0.5, 2.0, 4);
        std::vector<Tensor> inputs{leaf(distinct_values(shape, -2.0, 3.0, 5))};
        if (affine) {
          inputs.push_back(leaf(distinct_values({C}, 0.5, 2.0, 6)));
          inputs.push_back(leaf(distinct_values({C}, -1.0, 1.0, 7)));
        }
        auto f = [&](const std::vector<Tensor>& in) {
          return batch_norm(in[0], rm, rv, affine ? in[1] : Tensor(), affine ? in[2] : Tensor(), false);
        };
        CHECK(gradcheck(f, inputs) == "");
      }
    }
  }

  TEST_CASE("gradient reaches weight and bias when the input needs none") {
    Tensor x = distinct_values({4, 2, 2, 2}, -1.0, 1.0, 11);
    Tensor w = leaf(ones({2}, kFloat64));
    Tensor b = leaf(zeros({2}, kFloat64));
    Tensor y = batch_norm(x, Tensor(), Tensor(), w, b, true);
    sum(y).backward();
    REQUIRE(w.grad().defined());
    REQUIRE(b.grad().defined());
    // d/db sum(y) = number of values per channel; d/dw sum(y) = sum(xhat) = 0.
    check_close(b.grad(), full({2}, 16.0, kFloat64), 0, 1e-12, "grad bias");
    check_close(w.grad(), zeros({2}, kFloat64), 0, 1e-12, "grad weight");
  }

  TEST_CASE("training normalises with the biased variance and updates running stats with the unbiased one") {
    // Channel 0: 1, 3, 5 (mean 3, biased var 8/3, unbiased 4); channel 1: 2, 6, 10 (mean 6, 32/3, 16).
    for (DType dt : {kFloat32, kFloat64}) {
      CAPTURE(dtype_name(dt));
      Tensor x = f64({1, 2, 3, 6, 5, 10}, {3, 2}).to(dt);
      Tensor rm = zeros({2}, dt), rv = ones({2}, dt);
      Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5);
      check_close(rm, f64({0.3, 0.6}, {2}).to(dt), 1e-6, 1e-7, "running_mean");
      check_close(rv, f64({0.9 + 0.1 * 4, 0.9 + 0.1 * 16}, {2}).to(dt), 1e-6, 1e-7, "running_var");
      auto expect = reference_bn({1, 2, 3, 6, 5, 10}, 3, 2, 1, {3, 6}, {8.0 / 3, 32.0 / 3}, 1e-5);
      check_close(y, f64(expect, {3, 2}).to(dt), 1e-5, 1e-6, "y");
      // A second step moves the stats again from where they are.
      batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5);
      check_close(rm, f64({0.57, 1.14}, {2}).to(dt), 1e-6, 1e-6, "running_mean after two steps");
    }
  }

  TEST_CASE("4-D statistics are per channel over batch and space") {
    // x (2, 2, 1, 2): channel 0 holds 0, 2, 4, 6 (mean 3, biased var 5); channel 1 holds 1, 1, 3, 3 (mean 2, var 1).
    Tensor x = f64({0, 2, 1, 1, 4, 6, 3, 3}, {2, 2, 1, 2});
    Tensor rm = zeros({2}, kFloat64), rv = zeros({2}, kFloat64);
    Tensor w = f64({2, 3}, {2}), b = f64({1, -1}, {2});
    Tensor y = batch_norm(x, rm, rv, w, b, true, 1.0, 0.0);  // momentum 1: running = batch stats
    check_close(rm, f64({3, 2}, {2}), 0, 1e-12, "running_mean");
    check_close(rv, f64({5.0 * 4 / 3, 4.0 / 3}, {2}), 0, 1e-12, "running_var (unbiased)");
    const double s5 = std::sqrt(5.0);
    check_close(y, f64({1 - 6 / s5, 1 - 2 / s5, -4, -4, 1 + 2 / s5, 1 + 6 / s5, 2, 2}, {2, 2, 1, 2}), 0, 1e-12, "y");
  }

  TEST_CASE("eval mode uses the running stats and leaves them alone") {
    Tensor x = f64({1, 2, 3, 4, -1, 0}, {3, 2});
    Tensor rm = f64({1, 2}, {2}), rv = f64({4, 9}, {2});
    Tensor w = f64({2, 3}, {2}), b = f64({0.5, -1}, {2});
    Tensor y = batch_norm(x, rm, rv, w, b, false, 0.1, 0.0);
    check_close(y, f64({0.5, -1, 2.5, 1, -1.5, -3}, {3, 2}), 0, 1e-12, "eval y");
    check_close(rm, f64({1, 2}, {2}), 0, 0, "running_mean unchanged");
    check_close(rv, f64({4, 9}, {2}), 0, 0, "running_var unchanged");
    // A batch of one is fine in eval mode.
    CHECK(batch_norm(x.slice(0, 1), rm, rv, w, b, false).shape() == Shape{1, 2});
  }

  TEST_CASE("float32 statistics stay accurate far from zero") {
    // Mean 1e4, spread 1: a naive float32 sum of squares loses the variance entirely.
    std::vector<double> v;
    for (int i = 0; i < 4096; ++i) v.push_back(10000.0 + double(i % 4));  // 0,1,2,3: var 1.25
    Tensor x = f64(v, {1024, 1, 2, 2}).to(kFloat32);
    Tensor rm = zeros({1}, kFloat32), rv = zeros({1}, kFloat32);
    batch_norm(x, rm, rv, Tensor(), Tensor(), true, 1.0, 0.0);
    CHECK(rm.item() == doctest::Approx(10001.5).epsilon(1e-7));
    CHECK(rv.item() == doctest::Approx(1.25 * 4096 / 4095).epsilon(1e-5));
  }

  TEST_CASE("float32 matches float64 forward and backward, and threads do not change the result") {
    Generator gen(3);
    for (Shape shape : {Shape{64, 50}, Shape{64, 10, 24, 24}, Shape{7, 3, 5, 5}}) {
      CAPTURE(shape_str(shape));
      const int64_t C = shape[1];
      Tensor x64 = add(mul(randn(shape, gen, kFloat64), 2.0), 0.5);
      Tensor w64 = rand({C}, gen, kFloat64), b64 = randn({C}, gen, kFloat64);
      Tensor gy64 = randn(shape, gen, kFloat64);
      auto run = [&](DType dt, Tensor& gx, Tensor& gw, Tensor& gb) {
        Tensor x = leaf(x64.to(dt).detach()), w = leaf(w64.to(dt).detach()), b = leaf(b64.to(dt).detach());
        Tensor y = batch_norm(x, zeros({C}, dt), ones({C}, dt), w, b, true);
        y.backward(gy64.to(dt));
        gx = x.grad(), gw = w.grad(), gb = b.grad();
        return y;
      };
      Tensor gx64, gw64, gb64, gx32, gw32, gb32;
      Tensor y64 = run(kFloat64, gx64, gw64, gb64);
      Tensor y32 = run(kFloat32, gx32, gw32, gb32);
      check_close(y32, y64.to(kFloat32), 1e-4, 1e-4, "y float32 vs float64");
      check_close(gx32, gx64.to(kFloat32), 1e-3, 1e-4, "grad x float32 vs float64");
      check_close(gw32, gw64.to(kFloat32), 1e-3, 1e-2, "grad w float32 vs float64");
      check_close(gb32, gb64.to(kFloat32), 1e-3, 1e-2, "grad b float32 vs float64");

      int before = get_num_threads();
      set_num_threads(1);
      Tensor gx1, gw1, gb1;
      Tensor y1 = run(kFloat32, gx1, gw1, gb1);
      set_num_threads(before);
      CHECK(max_abs_diff(y1, y32) == 0.0);
      CHECK(max_abs_diff(gx1, gx32) == 0.0);
      CHECK(max_abs_diff(gw1, gw32) == 0.0);
    }
  }

  TEST_CASE("errors name the op and what was expected") {
    Tensor x = zeros({4, 3});
    Tensor c3 = zeros({3}), c4 = zeros({4});
    CHECK(error_of([&] { batch_norm(zeros({2, 3, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected a 2-D (N, C) or 4-D (N, C, H, W) input, found shape [2, 3, 4]");
    CHECK(error_of([&] { batch_norm(x, Tensor(), Tensor(), c4, Tensor(), true); }) ==
          "batch_norm: expected weight of shape [3] (one value per channel of the input [4, 3]), found [4]");
    CHECK(error_of([&] { batch_norm(x, Tensor(), Tensor(), c3, c4, true); }) ==
          "batch_norm: expected bias of shape [3] (one value per channel of the input [4, 3]), found [4]");
    CHECK(error_of([&] { batch_norm(x, c4, ones({3}), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected running_mean of shape [3] (one value per channel of the input [4, 3]), found [4]");
    CHECK(error_of([&] { batch_norm(x, c3, ones({4}), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected running_var of shape [3] (one value per channel of the input [4, 3]), found [4]");
    CHECK(error_of([&] { batch_norm(x, c3, Tensor(), Tensor(), Tensor(), true); }) ==
          "batch_norm: running_mean and running_var must both be given or both be undefined");
    CHECK(error_of([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); }) ==
          "batch_norm: running_mean and running_var must be defined in eval mode (training=false)");
    CHECK(error_of([&] { batch_norm(x, c3.to(kFloat64), ones({3}), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected running_mean of dtype float32 (the input's), found float64");
    CHECK(error_of([&] { batch_norm(zeros({4, 3}, kInt64), Tensor(), Tensor(), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected a float32 or float64 input, found int64");
    CHECK(error_of([&] { batch_norm(zeros({1, 50}), Tensor(), Tensor(), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected more than 1 value per channel when training, found input of shape [1, 50]");
    CHECK(error_of([&] { batch_norm(zeros({1, 5, 1, 1}), zeros({5}), ones({5}), Tensor(), Tensor(), true); }) ==
          "batch_norm: expected more than 1 value per channel when training, found input of shape [1, 5, 1, 1]");
    // One sample with several pixels per channel is enough to train on.
    CHECK(error_of([&] { batch_norm(randn({1, 2, 2, 2}), Tensor(), Tensor(), Tensor(), Tensor(), true); }) == "");
  }
}

TEST_SUITE("dropout") {
  TEST_CASE("the mask is one uniform per element in order, fixed by the generator state") {
    // 37: serial path; 100000: parallel path. Both start and end mid-way through a Philox block.
    for (int64_t n : {37, 100000}) {
      CAPTURE(n);
      Generator gen(2024);
      for (int i = 0; i < 3; ++i) gen.next_u32();
      const GeneratorState start = gen.state();
      Tensor y = dropout(ones({n}), 0.3, true, gen);
      CHECK(gen.state().offset == start.offset + uint64_t(n));

      Generator replay(0);
      replay.set_state(start);
      auto v = y.to_vector<float>();
      int64_t mismatches = 0, zeros_seen = 0;
      for (int64_t i = 0; i < n; ++i) {
        float expect = double(replay.next_float()) >= 0.3 ? float(1.0 / 0.7) : 0.0f;
        mismatches += v[size_t(i)] != expect;
        zeros_seen += v[size_t(i)] == 0.0f;
      }
      CHECK(mismatches == 0);
      if (n > 1000) CHECK(double(zeros_seen) / double(n) == doctest::Approx(0.3).epsilon(0.03));

      gen.set_state(start);
      Tensor again = dropout(ones({n}), 0.3, true, gen);
      CHECK(max_abs_diff(y, again) == 0.0);
      Tensor next = dropout(ones({n}), 0.3, true, gen);  // the state moved on: a different mask
      CHECK(max_abs_diff(again, next) > 0.0);
    }
  }

  TEST_CASE("the mask keeps the expected value for p = 0.5") {
    Generator gen(5);
    Tensor y = dropout(ones({200000}, kFloat64), 0.5, true, gen);
    CHECK(mean(y).item() == doctest::Approx(1.0).epsilon(0.01));
    auto v = y.to_vector<double>();
    for (double e : v)
      if (e != 0.0 && e != 2.0) FAIL("mask value ", e, " is neither 0 nor 1 / (1 - p)");
  }

  TEST_CASE("backward multiplies by the same mask") {
    Generator gen(9);
    Tensor x = leaf(distinct_values({6, 7}, 0.5, 2.0, 1));
    Tensor y = dropout(x, 0.4, true, gen);
    Tensor gy = distinct_values({6, 7}, -1.0, 1.0, 2);
    y.backward(gy);
    Tensor mask = div(y.detach(), x.detach());
    check_close(x.grad(), mul(gy, mask), 1e-12, 1e-12, "grad = grad_y * mask");
    CHECK(sum(mask).item() > 0.0);
    CHECK(gradcheck(
              [&](const std::vector<Tensor>& in) {
                Generator g(77);  // same mask on every call
                return dropout(in[0], 0.4, true, g);
              },
              {leaf(distinct_values({3, 5}, 0.5, 2.0, 3))}) == "");
  }

  TEST_CASE("eval mode and p = 0 return the input; p = 1 zeroes it") {
    Generator gen(1);
    Tensor x = leaf(distinct_values({4, 4}, 0.5, 2.0, 1));
    CHECK(dropout(x, 0.5, false, gen).is_same(x));
    CHECK(dropout(x, 0.0, true, gen).is_same(x));
    CHECK(gen.state().offset == 0);
    Tensor y = dropout(x, 1.0, true, gen);
    check_close(y, zeros({4, 4}, kFloat64), 0, 0, "p = 1");
    sum(y).backward();
    check_close(x.grad(), zeros({4, 4}, kFloat64), 0, 0, "grad for p = 1");
  }

  TEST_CASE("p outside [0, 1] is an error") {
    Tensor x = ones({3});
    CHECK(error_of([&] { dropout(x, 1.5); }) == "dropout: probability has to be between 0 and 1, but got 1.5");
    CHECK(error_of([&] { dropout(x, -0.1, false); }) == "dropout: probability has to be between 0 and 1, but got -0.1");
    CHECK(error_of([&] { dropout(x, std::nan("")); }).rfind("dropout: probability has to be between 0 and 1", 0) == 0);
  }
}

TEST_SUITE("log_softmax and losses") {
  TEST_CASE("log_softmax rows exponentiate and sum to one, even for huge logits") {
    for (DType dt : {kFloat32, kFloat64}) {
      CAPTURE(dtype_name(dt));
      Tensor x = f64({1000, 1001, 1002, -5, 0, 5}, {2, 3}).to(dt);
      Tensor y = log_softmax(x, 1);
      const double l = std::log(1 + std::exp(-1.0) + std::exp(-2.0));
      check_close(y.slice(0, 1), f64({-2 - l, -1 - l, -l}, {1, 3}).to(dt), 1e-6, 1e-5, "row of huge logits");
      check_close(sum(exp(y), 1), ones({2}, dt), 1e-6, 1e-6, "exp-sum");
      CHECK(max_abs_diff(log_softmax(x, -1), y) == 0.0);
    }
    Generator gen(4);
    Tensor big = mul(randn({300, 200}, gen), 10.0);  // parallel path
    check_close(sum(exp(log_softmax(big, 1)), 1), ones({300}), 1e-5, 1e-5, "exp-sum of a big batch");
  }

  TEST_CASE("gradcheck log_softmax, nll_loss, cross_entropy") {
    Tensor target = from_vector<int64_t>({2, 0, 3, 3, 1});
    CHECK(gradcheck([](const std::vector<Tensor>& in) { return log_softmax(in[0], 1); },
                    {leaf(distinct_values({5, 4}, -3.0, 3.0, 1))}) == "");
    CHECK(gradcheck([&](const std::vector<Tensor>& in) { return nll_loss(in[0], target); },
                    {leaf(distinct_values({5, 4}, -3.0, -0.1, 2))}) == "");
    CHECK(gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], target); },
                    {leaf(distinct_values({5, 4}, -3.0, 3.0, 3))}) == "");
  }

  TEST_CASE("nll_loss is minus the mean of the picked log-probabilities") {
    Tensor logp = f64({-0.1, -2.0, -3.0, -1.5, -0.5, -4.0}, {2, 3});
    Tensor loss = nll_loss(logp, from_vector<int64_t>({0, 2}));
    CHECK(loss.shape() == Shape{});
    CHECK(loss.item() == doctest::Approx((0.1 + 4.0) / 2));
  }

  TEST_CASE("cross_entropy: log K for uniform logits, softmax minus one-hot for the gradient") {
    for (int64_t K : {2, 10, 1000}) {
      CAPTURE(K);
      Tensor logits = leaf(full({8, K}, 3.25, kFloat64));
      Tensor target = randint(0, K, {8});
      Tensor loss = cross_entropy(logits, target);
      CHECK(loss.item() == doctest::Approx(std::log(double(K))).epsilon(1e-12));
      loss.backward();
      auto g = logits.grad().to_vector<double>();
      auto t = target.to_vector<int64_t>();
      double worst = 0;
      for (int64_t i = 0; i < 8; ++i)
        for (int64_t k = 0; k < K; ++k) {
          double expect = (1.0 / double(K) - (k == t[size_t(i)] ? 1.0 : 0.0)) / 8.0;
          worst = std::max(worst, std::abs(g[size_t(i * K + k)] - expect));
        }
      CHECK(worst < 1e-14);
    }
    Tensor f32 = cross_entropy(zeros({4, 10}), from_vector<int64_t>({0, 1, 2, 9}));
    CHECK(f32.dtype() == kFloat32);
    CHECK(f32.item() == doctest::Approx(std::log(10.0)).epsilon(1e-6));
  }

  TEST_CASE("errors name the op, the offending index and value, and the expected shapes") {
    Tensor x = zeros({4, 10});
    Tensor bad = from_vector<int64_t>({1, 2, 3, 12});
    CHECK(error_of([&] { nll_loss(log_softmax(x, 1), bad); }) == "nll_loss: target 12 at index 3 is out of range [0, 10)");
    CHECK(error_of([&] { cross_entropy(x, bad); }) == "nll_loss: target 12 at index 3 is out of range [0, 10)");
    CHECK(error_of([&] { cross_entropy(x, from_vector<int64_t>({-1, 0, 0, 0})); }) ==
          "nll_loss: target -1 at index 0 is out of range [0, 10)");
    CHECK(error_of([&] { nll_loss(x, from_vector<double>({1, 2, 3, 4})); }) ==
          "nll_loss: expected an int64 target, found float64");
    CHECK(error_of([&] { nll_loss(x, from_vector<int64_t>({1, 2, 3})); }) ==
          "nll_loss: expected a target of shape [4] for log-probabilities of shape [4, 10], found [3]");
    CHECK(error_of([&] { cross_entropy(zeros({4, 10, 2}), bad); }) ==
          "cross_entropy: expected a target of shape [4, 2] for logits of shape [4, 10, 2], found [4]");
    CHECK(error_of([&] { cross_entropy(x, zeros({4, 1}, kInt64)); }) ==
          "cross_entropy: expected a target of shape [4] for logits of shape [4, 10], found [4, 1]");
    CHECK(error_of([&] { nll_loss(zeros({4, 10}, kInt64), bad); }) ==
          "nll_loss: expected log-probabilities to be float32 or float64, found int64");
    CHECK(error_of([&] { log_softmax(x, 2); }) == "log_softmax: dim 2 out of range for a tensor of rank 2");
    CHECK(error_of([&] { log_softmax(zeros({2}, kInt64), 0); }) ==
          "log_softmax: expected the input to be float32 or float64, found int64");
  }
}
