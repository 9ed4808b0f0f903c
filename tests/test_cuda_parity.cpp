// CPU-vs-CUDA parity: a table of op cases, each run forward and backward on both backends from the
// same inputs and compared with a stated tolerance (ggml's test-backend-ops is the model). The CPU
// backend is the reference. Skipped (exit 77, tests/cuda_main.cpp) where no GPU is visible.
//
// Tolerances: ops that round once per element (elementwise, pooling, dropout, argmax, casts) must
// match exactly or to an ulp; sums and products whose order differs between the backends (reductions,
// gemm, conv2d, batch_norm, softmax) are compared at float32 rtol 1e-4 / atol 1e-5 and float64
// rtol 1e-10 / atol 1e-12.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ember/core/determinism.h"
#include "helpers.h"
#include "ember/core/cuda.h"

using namespace ember;
using test::check_close;
using test::distinct_values;

namespace {

const Device kGpu("cuda:0");

struct Tol {
  double rtol, atol;
};
constexpr Tol kExact{0, 0};
constexpr Tol kUlp{2e-7, 1e-7};       // float32, one rounding apart
constexpr Tol kSum32{1e-4, 1e-5};     // float32, different summation orders
constexpr Tol kSum64{1e-10, 1e-12};   // float64, different summation orders

struct Case {
  std::string name;
  std::vector<Tensor> inputs;  // CPU; gradients are compared for those that require grad
  std::function<Tensor(const std::vector<Tensor>&)> f;
  Tol tol;
};

struct Result {
  Tensor out;
  std::vector<Tensor> grads;
};

// Leaves on `device` as copies of the inputs; y = f(leaves); backward with fixed weights of y's shape.
Result run(const Case& c, Device device) {
  std::vector<Tensor> leaves;
  for (const Tensor& t : c.inputs) {
    Tensor leaf = t.detach().to(device);
    if (t.requires_grad()) leaf.requires_grad_();
    leaves.push_back(leaf);
  }
  Tensor y = c.f(leaves);
  Result r;
  r.out = y.detach().to(kCPU);
  if (y.requires_grad()) {
    Tensor w = distinct_values(y.shape(), -1.0, 1.0, 99).to(y.dtype()).to(device);
    y.backward(w);
    for (const Tensor& leaf : leaves)
      if (leaf.requires_grad()) r.grads.push_back(leaf.grad().defined() ? leaf.grad().to(kCPU) : Tensor());
  }
  return r;
}

void check_case(const Case& c) {
  INFO("case: ", c.name);
  const Result cpu = run(c, kCPU);
  const Result gpu = run(c, kGpu);
  CHECK(gpu.out.dtype() == cpu.out.dtype());
  check_close(gpu.out, cpu.out, c.tol.rtol, c.tol.atol, c.name + " forward");
  REQUIRE(gpu.grads.size() == cpu.grads.size());
  for (size_t i = 0; i < cpu.grads.size(); ++i) {
    REQUIRE_MESSAGE(gpu.grads[i].defined() == cpu.grads[i].defined(), c.name, " gradient ", i);
    if (cpu.grads[i].defined())
      check_close(gpu.grads[i], cpu.grads[i], c.tol.rtol, c.tol.atol, c.name + " gradient of input " + std::to_string(i));
  }
}

// float32 leaf with distinct values in [lo, hi] (no ties, so max-pool and argmax are well defined).
Tensor leaf(const Shape& s, double lo, double hi, uint64_t seed, DType dtype = kFloat32, bool grad = true) {
  Tensor t = distinct_values(s, lo, hi, seed).to(dtype);
  if (grad) t.requires_grad_();
  return t;
}

Tol sums(DType t) { return t == kFloat64 ? kSum64 : kSum32; }

std::vector<Case> elementwise_cases() {
  std::vector<Case> cs;
  for (DType t : {kFloat32, kFloat64}) {
    const std::string sfx = std::string(" ") + dtype_name(t);
    const Tol exact = kExact;
    cs.push_back({"add same shape" + sfx, {leaf({4, 7}, -2, 2, 1, t), leaf({4, 7}, -1, 3, 2, t)},
                  [](auto& v) { return v[0] + v[1]; }, exact});
    cs.push_back({"sub bias over rows" + sfx, {leaf({6, 5}, -2, 2, 3, t), leaf({5}, -1, 1, 4, t)},
                  [](auto& v) { return v[0] - v[1]; }, sums(t)});
    cs.push_back({"mul channel bias" + sfx, {leaf({2, 3, 4, 5}, -2, 2, 5, t), leaf({1, 3, 1, 1}, 0.5, 2, 6, t)},
                  [](auto& v) { return v[0] * v[1]; }, sums(t)});
    cs.push_back({"div general broadcast" + sfx, {leaf({3, 1, 5}, -2, 2, 7, t), leaf({1, 4, 1}, 0.5, 2, 8, t)},
                  [](auto& v) { return v[0] / v[1]; }, sums(t)});
    cs.push_back({"add scalar tensor" + sfx, {leaf({3, 4}, -2, 2, 9, t), leaf({}, 0.5, 0.5, 10, t)},
                  [](auto& v) { return v[1] + v[0]; }, sums(t)});
    cs.push_back({"scalar ops" + sfx, {leaf({5, 3}, 0.5, 3, 11, t)},
                  [](auto& v) { return rdiv(2.0, rsub(7.0, (v[0] + 1.5) * 3.0 - 0.25) / 1.75); }, exact});
    cs.push_back({"neg exp log" + sfx, {leaf({4, 6}, 0.25, 2, 12, t)},
                  [](auto& v) { return neg(log(v[0])) + exp(v[0] * 0.5); },
                  t == kFloat64 ? Tol{1e-14, 1e-14} : Tol{1e-6, 1e-6}});
    cs.push_back({"relu" + sfx, {leaf({3, 5, 7}, -1, 1, 13, t)}, [](auto& v) { return relu(v[0]); }, exact});
    cs.push_back({"to dtype" + sfx, {leaf({4, 4}, -3, 3, 14, t)},
                  [t](auto& v) { return v[0].to(t == kFloat32 ? kFloat64 : kFloat32) * 2.0; }, exact});
  }
  return cs;
}

std::vector<Case> reduce_and_linear_cases() {
  std::vector<Case> cs;
  for (DType t : {kFloat32, kFloat64}) {
    const std::string sfx = std::string(" ") + dtype_name(t);
    const Tol tol = sums(t);
    cs.push_back({"sum all" + sfx, {leaf({37, 129}, -1, 1, 20, t)}, [](auto& v) { return sum(v[0]); }, tol});
    cs.push_back({"sum all large" + sfx, {leaf({1 << 17}, -1, 1, 21, t)}, [](auto& v) { return sum(v[0]); }, tol});
    cs.push_back({"sum dim 0" + sfx, {leaf({300, 7}, -1, 1, 22, t)}, [](auto& v) { return sum(v[0], 0); }, tol});
    cs.push_back({"sum dim 1 keepdim" + sfx, {leaf({5, 300, 3}, -1, 1, 23, t)},
                  [](auto& v) { return sum(v[0], 1, true); }, tol});
    cs.push_back({"mean last dim" + sfx, {leaf({9, 11}, -1, 1, 24, t)}, [](auto& v) { return mean(v[0], -1); }, tol});
    cs.push_back({"sum_to channels" + sfx, {leaf({8, 3, 5, 5}, -1, 1, 25, t)},
                  [](auto& v) { return sum_to(v[0], {3, 1, 1}); }, tol});
    cs.push_back({"matmul" + sfx, {leaf({33, 17}, -1, 1, 26, t), leaf({17, 9}, -1, 1, 27, t)},
                  [](auto& v) { return matmul(v[0], v[1]); }, tol});
    cs.push_back({"matmul row vector" + sfx, {leaf({1, 64}, -1, 1, 28, t), leaf({64, 3}, -1, 1, 29, t)},
                  [](auto& v) { return matmul(v[0], v[1]); }, tol});
    cs.push_back({"linear with bias" + sfx,
                  {leaf({64, 320}, -1, 1, 30, t), leaf({50, 320}, -0.1, 0.1, 31, t), leaf({50}, -0.1, 0.1, 32, t)},
                  [](auto& v) { return linear(v[0], v[1], v[2]); }, tol});
    cs.push_back({"linear without bias" + sfx, {leaf({7, 5}, -1, 1, 33, t), leaf({3, 5}, -1, 1, 34, t)},
                  [](auto& v) { return linear(v[0], v[1]); }, tol});
  }
  return cs;
}

std::vector<Case> conv_pool_cases() {
  std::vector<Case> cs;
  for (DType t : {kFloat32, kFloat64}) {
    const std::string sfx = std::string(" ") + dtype_name(t);
    const Tol tol = sums(t);
    cs.push_back({"conv2d MNIST conv1" + sfx,
                  {leaf({16, 1, 28, 28}, -1, 1, 40, t), leaf({10, 1, 5, 5}, -0.2, 0.2, 41, t),
                   leaf({10}, -0.1, 0.1, 42, t)},
                  [](auto& v) { return conv2d(v[0], v[1], v[2]); }, tol});
    cs.push_back({"conv2d MNIST conv2" + sfx,
                  {leaf({8, 10, 12, 12}, -1, 1, 43, t), leaf({20, 10, 5, 5}, -0.1, 0.1, 44, t),
                   leaf({20}, -0.1, 0.1, 45, t)},
                  [](auto& v) { return conv2d(v[0], v[1], v[2]); }, tol});
    cs.push_back({"conv2d stride 2 padding 1" + sfx,
                  {leaf({3, 4, 9, 10}, -1, 1, 46, t), leaf({6, 4, 3, 3}, -0.3, 0.3, 47, t), leaf({6}, -1, 1, 48, t)},
                  [](auto& v) { return conv2d(v[0], v[1], v[2], 2, 1); }, tol});
    cs.push_back({"conv2d rectangular, no bias" + sfx,
                  {leaf({2, 3, 8, 7}, -1, 1, 49, t), leaf({5, 3, 3, 2}, -0.3, 0.3, 50, t)},
                  [](auto& v) { return conv2d(v[0], v[1], Tensor(), {2, 1}, {1, 0}); }, tol});
    cs.push_back({"max_pool2d 2x2" + sfx, {leaf({4, 3, 8, 6}, -1, 1, 51, t)},
                  [](auto& v) { return max_pool2d(v[0], 2); }, kExact});
    cs.push_back({"max_pool2d 3x3 stride 2 padding 1 (overlapping)" + sfx, {leaf({2, 3, 9, 7}, -1, 1, 52, t)},
                  [](auto& v) { return max_pool2d(v[0], 3, 2, 1); }, kExact});
    cs.push_back({"max_pool2d 3x2 stride 1x2" + sfx, {leaf({2, 2, 7, 8}, -1, 1, 53, t)},
                  [](auto& v) { return max_pool2d(v[0], {3, 2}, {1, 2}); }, kExact});
  }
  return cs;
}

std::vector<Case> norm_loss_cases() {
  std::vector<Case> cs;
  for (DType t : {kFloat32, kFloat64}) {
    const std::string sfx = std::string(" ") + dtype_name(t);
    const Tol tol = sums(t);
    cs.push_back({"batch_norm 4-D training" + sfx,
                  {leaf({8, 3, 6, 5}, 4, 9, 60, t), leaf({3}, 0.5, 1.5, 61, t), leaf({3}, -0.5, 0.5, 62, t)},
                  [t](auto& v) {
                    Tensor rm = zeros({3}, t, v[0].device()), rv = ones({3}, t, v[0].device());
                    Tensor y = batch_norm(v[0], rm, rv, v[1], v[2], true, 0.1, 1e-5);
                    // The running statistics must be updated alike: fold them into the output.
                    return add(y, sum(rm) + sum(rv));
                  },
                  tol});
    cs.push_back({"batch_norm 2-D training, no affine" + sfx, {leaf({16, 50}, -3, 3, 63, t)},
                  [](auto& v) { return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true); }, tol});
    cs.push_back({"batch_norm 4-D eval" + sfx,
                  {leaf({4, 3, 5, 5}, -2, 2, 64, t), leaf({3}, 0.5, 1.5, 65, t), leaf({3}, -0.5, 0.5, 66, t)},
                  [t](auto& v) {
                    Tensor rm = from_vector(std::vector<double>{0.1, -0.2, 0.3}).to(t).to(v[0].device());
                    Tensor rv = from_vector(std::vector<double>{0.5, 1.5, 2.5}).to(t).to(v[0].device());
                    return batch_norm(v[0], rm, rv, v[1], v[2], false);
                  },
                  tol});
    cs.push_back(
        {"log_softmax" + sfx, {leaf({64, 10}, -5, 5, 67, t)}, [](auto& v) { return log_softmax(v[0], 1); }, tol});
    cs.push_back({"log_softmax wide rows" + sfx, {leaf({3, 1000}, -20, 20, 68, t)},
                  [](auto& v) { return log_softmax(v[0], 1); }, tol});
    cs.push_back({"cross_entropy" + sfx, {leaf({64, 10}, -5, 5, 69, t)},
                  [](auto& v) {
                    Generator gen(7);
                    Tensor target = randint(0, 10, {64}, gen).to(v[0].device());
                    return cross_entropy(v[0], target);
                  },
                  tol});
    cs.push_back({"nll_loss" + sfx, {leaf({5, 4}, -3, -0.1, 70, t)},
                  [](auto& v) {
                    Tensor target = from_vector(std::vector<int64_t>{3, 0, 1, 3, 2}).to(v[0].device());
                    return nll_loss(v[0], target);
                  },
                  tol});
    cs.push_back({"dropout" + sfx, {leaf({7, 33}, -1, 1, 71, t)},
                  [](auto& v) {
                    Generator gen(1234);
                    gen.set_state({1234, 6});  // an offset inside a Philox block
                    return dropout(v[0], 0.3, true, gen);
                  },
                  kExact});
    cs.push_back({"argmax" + sfx, {leaf({6, 9, 4}, -1, 1, 72, t, false)},
                  [](auto& v) { return argmax(v[0], 1); }, kExact});
  }
  return cs;
}

}  // namespace

TEST_CASE("parity: elementwise ops") {
  for (const Case& c : elementwise_cases()) check_case(c);
}

TEST_CASE("parity: reductions, matmul and linear") {
  for (const Case& c : reduce_and_linear_cases()) check_case(c);
}

TEST_CASE("parity: conv2d and max_pool2d") {
  for (const Case& c : conv_pool_cases()) check_case(c);
}

TEST_CASE("parity: conv2d through Ember's im2col + cuBLAS kernels and through cuDNN") {
  const bool was = cuda::cudnn_enabled();
  for (bool use_cudnn : {false, true}) {
    if (use_cudnn && !cuda::cudnn_built()) continue;
    INFO("cuDNN ", (use_cudnn ? "on" : "off"));
    cuda::set_cudnn_enabled(use_cudnn);
    for (const Case& c : conv_pool_cases())
      if (c.name.rfind("conv2d", 0) == 0) check_case(c);
    DeterministicGuard det(true);
    for (const Case& c : conv_pool_cases())
      if (c.name.rfind("conv2d", 0) == 0) check_case(c);
  }
  cuda::set_cudnn_enabled(was);
}

TEST_CASE("parity: batch_norm, losses, dropout and argmax") {
  for (const Case& c : norm_loss_cases()) check_case(c);
}

TEST_CASE("parity: ties and NaN in max_pool2d and argmax follow the CPU") {
  std::vector<float> v = {1, 3, 3, 0, 2, 2, 2, 2, -1, std::nanf(""), 5, 5, 4, 4, 4, 4};
  Tensor x = from_vector(v, {1, 1, 4, 4});
  Tensor y_cpu = max_pool2d(x, 2), y_gpu = max_pool2d(x.to(kGpu), 2).to(kCPU);
  auto a = y_cpu.to_vector<float>(), b = y_gpu.to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) CHECK((a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))));
  Tensor rows = from_vector(std::vector<float>{1, 7, 7, 2, 0, 0, 0, 0}, {2, 4});
  CHECK(argmax(rows, 1).to_vector<int64_t>() == argmax(rows.to(kGpu), 1).to_vector<int64_t>());
}
