#include "helpers.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <sstream>

namespace ember::test {

nlohmann::json load_fixture(const std::string& file) {
  std::string path = std::string(EMBER_FIXTURE_DIR) + "/" + file;
  std::ifstream in(path);
  EMBER_CHECK(in.good(), "fixture not found: ", path, " (regenerate with tests/reference/gen_*.py)");
  return nlohmann::json::parse(in);
}

Tensor tensor_from_json(const nlohmann::json& node) {
  DType dtype = dtype_from_name(node.at("dtype").get<std::string>());
  Shape shape = node.at("shape").get<Shape>();
  const auto& data = node.at("data");
  std::vector<double> values = data.get<std::vector<double>>();
  Tensor t = from_vector(values, shape.empty() ? Shape{} : shape);
  if (shape.empty()) t = t.reshape({});
  return t.to(dtype);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size() && i < vb.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

bool all_close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return false;
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i)
    if (!(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]))) return false;
  return true;
}

void check_close(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what) {
  INFO(what);
  REQUIRE_MESSAGE(actual.shape() == expected.shape(), what, ": shape ", shape_str(actual.shape()), " vs expected ",
                  shape_str(expected.shape()));
  CHECK_MESSAGE(all_close(actual, expected, rtol, atol), what, ": max abs diff ", max_abs_diff(actual, expected));
}

std::string gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                      double eps, double atol, double rtol) {
  Generator gen(12345);
  Tensor out = f(inputs);
  Tensor weights = randn(out.shape(), gen, kFloat64);
  sum(mul(out, weights)).backward();
  std::ostringstream err;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& x = inputs[k];
    if (!x.requires_grad()) continue;
    Tensor analytic = x.grad();
    if (!analytic.defined()) {
      err << "input " << k << ": no gradient reached it\n";
      continue;
    }
    auto ga = analytic.to_vector<double>();
    double* p = x.data<double>();
    NoGradGuard no_grad;
    for (int64_t i = 0; i < x.numel(); ++i) {
      double saved = p[i];
      p[i] = saved + eps;
      double plus = sum(mul(f(inputs), weights)).item();
      p[i] = saved - eps;
      double minus = sum(mul(f(inputs), weights)).item();
      p[i] = saved;
      double numeric = (plus - minus) / (2 * eps);
      if (std::abs(numeric - ga[size_t(i)]) > atol + rtol * std::abs(numeric)) {
        err << "input " << k << " element " << i << ": analytic " << ga[size_t(i)] << ", numeric " << numeric << "\n";
        break;
      }
    }
  }
  return err.str();
}

Tensor distinct_values(const Shape& shape, double lo, double hi, uint64_t seed) {
  int64_t n = shape_numel(shape);
  Generator gen(seed);
  Tensor perm = randperm(n, gen);
  std::vector<double> v(static_cast<size_t>(n));
  auto idx = perm.to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = lo + (hi - lo) * (double(idx[size_t(i)]) + 0.5) / double(n);
  return from_vector(v, shape);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

ShellResult run_shell(const std::string& command) {
  std::fflush(nullptr);
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "cannot run: ", command);
  ShellResult r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace ember::test
