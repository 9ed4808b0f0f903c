#pragma once
// What the optimizer tests share: the regression problem of the PyTorch trajectory fixtures
// (gen_sgd.py, gen_optim.py), a two-parameter toy for state-dict tests, and a deep copy of a value
// tree (what saving and loading a checkpoint gives).
#include "helpers.h"
#include "ember/core/value.h"
#include "ember/optim/optimizer.h"

namespace ember::test {

struct Problem {
  Tensor X, Y, w0, b0;
  int steps;
};

inline Problem load_problem(const nlohmann::json& fx, DType dtype) {
  const auto& p = fx["problem"];
  return {tensor_from_json(p["X"]).to(dtype), tensor_from_json(p["Y"]).to(dtype),
          tensor_from_json(p["w0"]).to(dtype), tensor_from_json(p["b0"]).to(dtype), p["steps"].get<int>()};
}

inline Tensor regression_loss(const Problem& p, const Tensor& w, const Tensor& b) {
  Tensor d = matmul(p.X, w) + b - p.Y;
  return mean(d * d);
}

// A copy of a value tree whose tensors are cloned: what saving and loading a checkpoint gives.
inline Value deep_copy(const Value& v) {
  if (v.is_tensor()) return Value(v.as_tensor().clone());
  if (v.is_list()) {
    Value::List out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(deep_copy(v.at(i)));
    return Value(std::move(out));
  }
  if (v.is_dict()) {
    Value::Dict out;
    for (const auto& [k, x] : v.as_dict()) out.insert(k, deep_copy(x));
    return Value(std::move(out));
  }
  return v;
}

// Two parameters with a fixed gradient function, for state dict tests.
struct Toy {
  Tensor w = from_vector<float>({0.5f, -1.0f, 2.0f, 0.25f, 1.5f, -0.75f}, {2, 3}).requires_grad_();
  Tensor b = from_vector<float>({0.1f, -0.2f}).requires_grad_();
  void backward() {
    Tensor x = from_vector<float>({1.0f, 2.0f, -1.0f}, {3, 1});
    Tensor y = matmul(w, x) + b.reshape({2, 1});
    sum(y * y).backward();
  }
  std::vector<Tensor> params() const { return {w, b}; }
};

inline void train_steps(optim::Optimizer& opt, Toy& toy, int n) {
  for (int i = 0; i < n; ++i) {
    opt.zero_grad();
    toy.backward();
    opt.step();
  }
}

}  // namespace ember::test
