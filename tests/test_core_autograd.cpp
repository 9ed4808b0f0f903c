// Autograd: accumulation, explicit gradients, freeing the graph, detach, no-grad, and its errors.
#include "helpers.h"

using namespace ember;
using ember::test::error_of;

static Tensor leaf(std::vector<double> v, Shape s = {}) {
  Tensor t = from_vector(v, s);
  t.requires_grad_();
  return t;
}

TEST_CASE("backward from a scalar fills leaf gradients") {
  Tensor x = leaf({1, 2, 3});
  Tensor y = sum(mul(x, x));  // dy/dx = 2x
  CHECK(y.requires_grad());
  CHECK_FALSE(y.is_leaf());
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 4, 6});
}

TEST_CASE("leaf gradients accumulate until zeroed") {
  Tensor x = leaf({1, 2});
  sum(mul(x, 3.0)).backward();
  sum(mul(x, 3.0)).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 6});
  x.grad().zero_();
  sum(x).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 1});
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a tensor used twice gets both contributions") {
  Tensor x = leaf({3});
  Tensor a = mul(x, 2.0);
  Tensor y = add(mul(a, a), a);  // 4x^2 + 2x -> 8x + 2
  y.backward();
  CHECK(x.grad().item() == 26.0);
}

TEST_CASE("backward with an explicit gradient") {
  Tensor x = leaf({1, 2, 3, 4}, {2, 2});
  Tensor y = mul(x, 2.0);
  y.backward(from_vector(std::vector<double>{1, 0, 0, 10}, {2, 2}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 0, 0, 20});
}

TEST_CASE("the graph is freed after backward unless retained") {
  Tensor x = leaf({1, 2});
  Tensor y = sum(mul(x, x));
  y.backward();
  std::string err = error_of([&] { y.backward(); });
  CHECK(err.find("backward through the graph a second time") != std::string::npos);
  Tensor z = sum(mul(x, x));
  x.set_grad(Tensor());
  z.backward(Tensor(), true);
  z.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{4, 8});
}

TEST_CASE("backward from a non-scalar needs a gradient") {
  Tensor x = leaf({1, 2});
  Tensor y = mul(x, 2.0);
  std::string err = error_of([&] { y.backward(); });
  CHECK(err.find("grad can be implicitly created only for scalar outputs") != std::string::npos);
  CHECK(err.find("[2]") != std::string::npos);
  err = error_of([&] { y.backward(ones({3}, kFloat64)); });
  CHECK(err.find("gradient of shape [3] for an output of shape [2]") != std::string::npos);
  err = error_of([] { sum(ones({2})).backward(); });
  CHECK(err.find("does not require grad") != std::string::npos);
}

TEST_CASE("detach and no-grad stop the graph") {
  Tensor x = leaf({1, 2});
  Tensor d = mul(x, 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  {
    NoGradGuard guard;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK_FALSE(grad_enabled());
  }
  CHECK(grad_enabled());
  Tensor y = add(mul(x, d), x);  // d is a constant
  sum(y).backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{3, 5});
}

TEST_CASE("gradients flow through views") {
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor y = sum(mul(x.slice(1, 3).reshape({4}), 2.0));
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 0, 2, 2, 2, 2});
  Tensor z = leaf({1, 2});
  sum(mul(z.unsqueeze(0).flatten(), z.to(kFloat32).to(kFloat64))).backward();
  CHECK(z.grad().to_vector<double>() == std::vector<double>{2, 4});
}

TEST_CASE("requires_grad only on leaves") {
  Tensor x = leaf({1});
  Tensor y = mul(x, 2.0);
  CHECK(error_of([&] { y.requires_grad_(false); }).find("leaf") != std::string::npos);
}
