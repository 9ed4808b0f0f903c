#pragma once
// Shared test helpers: PyTorch fixtures, closeness checks, and gradcheck.
#include <doctest/doctest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/core/backend.h"
#include "ember/core/cuda.h"
#include "ember/core/ops.h"

namespace ember::test {

// A fixture file written by tests/reference/gen_*.py: a JSON object of cases. A tensor inside a case
// is {"dtype": "float32", "shape": [...], "data": [...flat, row-major...]}.
nlohmann::json load_fixture(const std::string& file);  // relative to tests/reference/fixtures
Tensor tensor_from_json(const nlohmann::json& node);

// Max |a - b| and whether |a - b| <= atol + rtol * |b| everywhere (shapes must match).
double max_abs_diff(const Tensor& a, const Tensor& b);
bool all_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6);

// CHECKs shape equality and closeness, naming `what` and the worst difference on failure.
void check_close(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what);

// Compares the backward of f at `inputs` (float64 leaves; those with requires_grad are checked)
// with central differences. f's output is reduced with fixed random weights to a scalar.
// Returns an empty string on success, else what differed.
std::string gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      double eps = 1e-6, double atol = 1e-5, double rtol = 1e-4);

// float64 tensor with distinct values spread in [lo, hi] (no ties, nothing near zero unless lo<0<hi).
Tensor distinct_values(const Shape& shape, double lo, double hi, uint64_t seed = 1);

// Runs `f` and returns the ember::Error message it throws ("" if it throws nothing).
std::string error_of(const std::function<void()>& f);

// A shell command's exit code (-1 if it did not exit) and its stdout and stderr together.
struct ShellResult {
  int code = -1;
  std::string output;
};
ShellResult run_shell(const std::string& command);

}  // namespace ember::test
