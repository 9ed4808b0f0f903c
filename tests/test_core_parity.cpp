// PyTorch parity: every case in tests/reference/fixtures/ops.json (written by
// tests/reference/gen_ops.py) runs through the Ember op forward and backward, and the output, each
// input's .grad and batch norm's running stats are compared with torch's. One TEST_CASE per op
// family, one SUBCASE per fixture case, so a failure names the case.
#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "helpers.h"

using nlohmann::json;

namespace ember {
namespace {

const json& fixture() {
  static const json cases = test::load_fixture("ops.json");
  return cases;
}

// The names of the cases for `op`, in file order; a family with no case fails rather than passing
// vacuously (a renamed op or a regenerated file that lost its cases).
std::vector<std::string> case_names(const std::string& op) {
  std::vector<std::string> names;
  for (const auto& [name, c] : fixture().items())
    if (c.at("op") == op) names.push_back(name);
  REQUIRE_MESSAGE(!names.empty(), "ops.json has no case for ", op);
  return names;
}

Tensor leaf(const json& c, const char* key) { return test::tensor_from_json(c.at(key)).requires_grad_(); }
Tensor optional_leaf(const json& c, const char* key) { return c.contains(key) ? leaf(c, key) : Tensor(); }
Tensor constant(const json& c, const char* key) { return test::tensor_from_json(c.at(key)); }
IntPair pair(const json& c, const char* key) { return {c.at(key)[0].get<int64_t>(), c.at(key)[1].get<int64_t>()}; }

struct Tolerance {
  double rtol, atol;
};

// The references are float64 results for the float32 inputs, rounded to float32. A float32
// implementation is off by rounding in proportion to the size of what it adds up (a conv weight
// gradient sums hundreds of products into values up to ~80), not to the size of each result, so an
// element that cancels to near zero carries the error of its large partial sums. The absolute
// tolerance is therefore scaled by the largest expected magnitude; a real bug (a wrong index, a
// missing term) is off by a whole term, orders of magnitude more. Torch's own float32 CPU path
// stays within a tenth of these bounds on every case (measured when the fixtures were written).
constexpr Tolerance kFloat32Tol{1e-4, 1e-5};
// Max pooling only copies inputs and adds upstream gradients, which the generator draws on a 1/32
// grid (exact in float32 in any order): any difference at all is a bug.
constexpr Tolerance kExact{0.0, 0.0};

void expect_close(const Tensor& actual, const json& c, const std::string& key, const std::string& name,
                  Tolerance tol) {
  const std::string what = name + ": " + key;
  REQUIRE_MESSAGE(actual.defined(), what, " is undefined (no gradient reached it?)");
  Tensor expected = test::tensor_from_json(c.at(key));
  CHECK_MESSAGE(actual.dtype() == expected.dtype(), what, ": dtype ", dtype_name(actual.dtype()), " vs expected ",
                dtype_name(expected.dtype()));
  double scale = 1.0;
  for (double v : expected.to_vector<double>()) scale = std::max(scale, std::abs(v));
  test::check_close(actual, expected, tol.rtol, tol.atol * scale, what);
}

// Backpropagates the fixture's upstream gradient and compares y and the gradient of each named leaf.
void check_forward_backward(const Tensor& y, const json& c, const std::string& name,
                            const std::vector<std::pair<std::string, Tensor>>& leaves, Tolerance tol) {
  expect_close(y, c, "y", name, tol);
  y.backward(constant(c, "gy"));
  for (const auto& [key, t] : leaves)
    if (t.defined()) expect_close(t.grad(), c, "grad_" + key, name, tol);
}

}  // namespace

TEST_CASE("every parity fixture case belongs to a tested op") {
  const std::set<std::string> tested = {"conv2d",      "max_pool2d", "batch_norm",   "linear",
                                        "log_softmax", "nll_loss",   "cross_entropy"};
  for (const auto& [name, c] : fixture().items())
    CHECK_MESSAGE(tested.count(c.at("op").get<std::string>()) == 1, name, " has untested op ", c.at("op"));
}

TEST_CASE("conv2d matches PyTorch") {
  for (const auto& name : case_names("conv2d")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor x = leaf(c, "x"), w = leaf(c, "weight"), b = optional_leaf(c, "bias");
      Tensor y = conv2d(x, w, b, pair(c, "stride"), pair(c, "padding"));
      check_forward_backward(y, c, name, {{"x", x}, {"weight", w}, {"bias", b}}, kFloat32Tol);
    }
  }
}

TEST_CASE("max_pool2d matches PyTorch") {
  for (const auto& name : case_names("max_pool2d")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor x = leaf(c, "x");
      Tensor y = max_pool2d(x, pair(c, "kernel"), pair(c, "stride"), pair(c, "padding"));
      check_forward_backward(y, c, name, {{"x", x}}, kExact);
    }
  }
}

TEST_CASE("batch_norm matches PyTorch, running stats included") {
  for (const auto& name : case_names("batch_norm")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor x = leaf(c, "x"), w = optional_leaf(c, "weight"), b = optional_leaf(c, "bias");
      // Buffers, not leaves: batch_norm updates them in place in training and leaves them in eval.
      Tensor running_mean = c.contains("running_mean") ? constant(c, "running_mean") : Tensor();
      Tensor running_var = c.contains("running_var") ? constant(c, "running_var") : Tensor();
      Tensor y = batch_norm(x, running_mean, running_var, w, b, c.at("training").get<bool>(),
                            c.at("momentum").get<double>(), c.at("eps").get<double>());
      if (running_mean.defined()) {
        expect_close(running_mean, c, "running_mean_after", name, kFloat32Tol);
        expect_close(running_var, c, "running_var_after", name, kFloat32Tol);
      }
      check_forward_backward(y, c, name, {{"x", x}, {"weight", w}, {"bias", b}}, kFloat32Tol);
    }
  }
}

TEST_CASE("linear matches PyTorch") {
  for (const auto& name : case_names("linear")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor x = leaf(c, "x"), w = leaf(c, "weight"), b = optional_leaf(c, "bias");
      check_forward_backward(linear(x, w, b), c, name, {{"x", x}, {"weight", w}, {"bias", b}}, kFloat32Tol);
    }
  }
}

TEST_CASE("log_softmax matches PyTorch") {
  for (const auto& name : case_names("log_softmax")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor x = leaf(c, "x");
      check_forward_backward(log_softmax(x, c.at("dim").get<int64_t>()), c, name, {{"x", x}}, kFloat32Tol);
    }
  }
}

TEST_CASE("nll_loss matches PyTorch") {
  for (const auto& name : case_names("nll_loss")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor log_probs = leaf(c, "log_probs");
      Tensor y = nll_loss(log_probs, constant(c, "target"));
      check_forward_backward(y, c, name, {{"log_probs", log_probs}}, kFloat32Tol);
    }
  }
}

TEST_CASE("cross_entropy matches PyTorch") {
  for (const auto& name : case_names("cross_entropy")) {
    SUBCASE(name.c_str()) {
      const json& c = fixture().at(name);
      Tensor logits = leaf(c, "logits");
      Tensor y = cross_entropy(logits, constant(c, "target"));
      check_forward_backward(y, c, name, {{"logits", logits}}, kFloat32Tol);
    }
  }
}

}  // namespace ember
