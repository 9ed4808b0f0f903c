// Tensors: factories, views sharing storage, element access, printing, the generator, errors.
#include <sstream>

#include "ember/core/parallel.h"
#include "helpers.h"

using namespace ember;
using ember::test::error_of;

TEST_CASE("factories fill shape, dtype and values") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(z.numel() == 6);
  CHECK(z.at({1, 2}) == 0.0);
  CHECK(ones({4}, kFloat64).at({3}) == 1.0);
  CHECK(full({2}, 2.5).at({1}) == 2.5);
  Tensor a = arange(5);
  CHECK(a.dtype() == kInt64);
  CHECK(a.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(1.0, 2.0, 0.25, kFloat32).to_vector<float>() == std::vector<float>{1.0f, 1.25f, 1.5f, 1.75f});
  Tensor v = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(v.at({1, 0}) == 4.0);
  CHECK(v.at({-1, -1}) == 6.0);
  uint8_t raw[3] = {7, 8, 255};
  Tensor b = from_blob(raw, {3}, kUInt8);
  CHECK(b.at({2}) == 255.0);
  Tensor flags = from_vector(std::vector<bool>{true, false});
  CHECK(flags.dtype() == kBool);
  CHECK(scalar_tensor(3.0).item() == 3.0);
  CHECK(scalar_tensor(3.0).dim() == 0);
}

TEST_CASE("shape_numel: a 0 size makes 0 elements; more than int64 counts is an error") {
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({int64_t(1) << 40, int64_t(1) << 40, 0}) == 0);
  CHECK(error_of([] { shape_numel({int64_t(1) << 40, int64_t(1) << 40}); }) ==
        "shape [1099511627776, 1099511627776] has more elements than an int64 can count");
  CHECK_THROWS_AS(empty({int64_t(1) << 40, int64_t(1) << 40}), Error);
}

TEST_CASE("views share storage") {
  Tensor t = arange(0.0, 12.0, 1.0, kFloat32);
  Tensor m = t.reshape({3, 4});
  CHECK(m.shares_storage(t));
  CHECK(t.reshape({-1, 6}).shape() == Shape{2, 6});
  Tensor rows = m.slice(1, 3);
  CHECK(rows.shape() == Shape{2, 4});
  CHECK(rows.at({0, 0}) == 4.0);
  rows.fill_(-1.0);
  CHECK(t.at({4}) == -1.0);  // the write went through the view
  CHECK(t.at({3}) == 3.0);
  CHECK(m[2].shape() == Shape{4});
  CHECK(m.unsqueeze(0).shape() == Shape{1, 3, 4});
  CHECK(m.unsqueeze(-1).shape() == Shape{3, 4, 1});
  CHECK(zeros({2, 3, 4, 5}).flatten(1).shape() == Shape{2, 60});
  CHECK(zeros({2, 3, 4, 5}).flatten(1, 2).shape() == Shape{2, 12, 5});
  Tensor c = m.clone();
  CHECK_FALSE(c.shares_storage(m));
}

TEST_CASE("dtype conversion and copy_") {
  Tensor f = from_vector(std::vector<float>{1.7f, -2.2f, 0.0f});
  CHECK(f.to(kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 0});
  CHECK(f.to(kBool).to_vector<int>() == std::vector<int>{1, 1, 0});
  Tensor d = zeros({3}, kFloat64);
  d.copy_(f);
  CHECK(d.at({0}) == doctest::Approx(1.7).epsilon(1e-6));
  Tensor y = ones({3});
  y.add_(f, 2.0);
  CHECK(y.at({1}) == doctest::Approx(1 - 4.4).epsilon(1e-6));
  y.mul_(0.5);
  CHECK(y.at({0}) == doctest::Approx((1 + 3.4) / 2).epsilon(1e-6));
  y.zero_();
  CHECK(y.at({2}) == 0.0);
}

TEST_CASE("printing shows values, shape and dtype") {
  std::ostringstream os;
  os << from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  CHECK(os.str() == "tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], shape=[2, 2], dtype=float32)");
  std::ostringstream os2;
  os2 << arange(3);
  CHECK(os2.str() == "tensor([0, 1, 2], shape=[3], dtype=int64)");
  std::ostringstream os3;
  os3 << zeros({2000});
  CHECK(os3.str().find("...") != std::string::npos);
  Tensor w = ones({2});
  w.requires_grad_();
  std::ostringstream os4;
  os4 << w;
  CHECK(os4.str().find("requires_grad=True") != std::string::npos);
}

TEST_CASE("generator state saves and restores exactly") {
  Generator g(42);
  Tensor a = rand({5}, g);
  GeneratorState mid = g.state();
  Tensor b = randn({7}, g, kFloat64);
  Tensor p = randperm(10, g);
  Tensor i = randint(0, 10, {4}, g);
  g.set_state(mid);
  CHECK(randn({7}, g, kFloat64).to_vector<double>() == b.to_vector<double>());
  CHECK(randperm(10, g).to_vector<int64_t>() == p.to_vector<int64_t>());
  CHECK(randint(0, 10, {4}, g).to_vector<int64_t>() == i.to_vector<int64_t>());
  Generator same(42);
  CHECK(rand({5}, same).to_vector<float>() == a.to_vector<float>());
  Generator other(43);
  CHECK(rand({5}, other).to_vector<float>() != a.to_vector<float>());
}

TEST_CASE("random draws have the right range and moments") {
  Generator g(7);
  auto u = rand({20000}, g).to_vector<double>();
  double m = 0;
  for (double x : u) {
    CHECK_UNARY(x >= 0.0);
    CHECK_UNARY(x < 1.0);
    m += x;
  }
  CHECK(m / double(u.size()) == doctest::Approx(0.5).epsilon(0.02));
  auto n = randn({20000}, g).to_vector<double>();
  double s = 0, s2 = 0;
  for (double x : n) s += x, s2 += x * x;
  CHECK(s / 20000 == doctest::Approx(0.0).scale(1.0).epsilon(0.03));
  CHECK(s2 / 20000 == doctest::Approx(1.0).epsilon(0.05));
  auto p = randperm(100, g).to_vector<int64_t>();
  std::sort(p.begin(), p.end());
  for (int64_t k = 0; k < 100; ++k) CHECK(p[size_t(k)] == k);
  for (int64_t v : randint(-3, 3, {1000}, g).to_vector<int64_t>()) CHECK_UNARY(v >= -3 && v < 3);
  Tensor w = empty({1000});
  w.uniform_(-2, 2, g);
  for (float x : w.to_vector<float>()) CHECK_UNARY(x >= -2 && x <= 2);
}

TEST_CASE("bad input throws ember::Error naming what and where") {
  CHECK(error_of([] { zeros({2, 3}).reshape({4, 2}); }).find("shape [4, 2] is invalid for input of size 6") !=
        std::string::npos);
  CHECK(error_of([] { zeros({2, 3}).reshape({-1, -1}); }).find("only one dimension can be -1") != std::string::npos);
  CHECK(error_of([] { zeros({2, 3}).at({2, 0}); }).find("index 2 out of range for dim 0 of size 2") !=
        std::string::npos);
  CHECK(error_of([] { zeros({2, 3}).at({0}); }).find("expected 2 indices") != std::string::npos);
  CHECK(error_of([] { zeros({4}).slice(2, 5); }).find("rows [2, 5) out of range for dim 0 of size 4") !=
        std::string::npos);
  CHECK(error_of([] { zeros({2}).item(); }).find("one element") != std::string::npos);
  CHECK(error_of([] { zeros({2}).data<double>(); }).find("expected a float64 tensor, found float32") !=
        std::string::npos);
  CHECK(error_of([] { zeros({2}).copy_(zeros({3})); }).find("copy_: expected a source of shape [2], found [3]") !=
        std::string::npos);
  CHECK(error_of([] { zeros({2}, kInt64).requires_grad_(); }).find("only float tensors") != std::string::npos);
  CHECK(error_of([] { zeros({2}).unsqueeze(3); }).find("dim 3 out of range") != std::string::npos);
  CHECK(error_of([] { zeros({2}).to(Device("cuda:0")); }).find("cuda:0") != std::string::npos);
  CHECK(error_of([] { Device d("tpu"); }).find("tpu") != std::string::npos);
  CHECK(error_of([] { set_num_threads(0); }).find("at least 1 thread") != std::string::npos);
  CHECK(error_of([] { dtype_from_name("float16"); }).find("unknown dtype 'float16'") != std::string::npos);
  CHECK(error_of([] { Tensor().shape(); }).find("undefined") != std::string::npos);
}

TEST_CASE("devices parse and print") {
  CHECK(Device("cpu").is_cpu());
  CHECK(Device("cuda").index == 0);
  CHECK(Device("cuda:1").index == 1);
  CHECK(Device("cuda:1").str() == "cuda:1");
  CHECK(Device("cuda:1") != Device("cuda:0"));
  CHECK(error_of([] { Device d("cuda:x"); }).find("cuda:x") != std::string::npos);
}
