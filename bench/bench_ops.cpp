// Times forward+backward of MNISTNet's ops (batch 64, float32), the same cases as bench_ops.py does
// with PyTorch. Prints one line per op: `op <name> ember_ms <median ms per iteration>`.
// An iteration runs the op and then its own backward function on a gradient of ones made once, as
// inside a network: the gradients are returned, not accumulated into the inputs' .grad (the torch
// script uses torch.autograd.grad for the same reason).
//
// usage: bench_ops [--threads N] [--repeats R] [--iters K] [--only conv1,pool1,...] [--clock wall|cpu]
//                  [--stat median|min]
// --clock cpu reports the process's CPU time instead of wall time: steadier on a busy machine, but
// with several threads it also counts their idle spinning, so compare like with like. --stat min
// reports the fastest repeat instead of the median, which a busy machine disturbs less.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ember/core/autograd.h"
#include "ember/core/ops.h"
#include "ember/core/parallel.h"

using namespace ember;

namespace {

struct Case {
  std::string name;
  std::function<Tensor()> forward;
  Tensor grad_output = Tensor();  // ones, made on the first call
};

void step(Case& c) {
  Tensor y = c.forward();
  if (!c.grad_output.defined()) c.grad_output = ones_like(y);
  NoGradGuard no_grad;  // as backward() runs the node
  std::vector<Tensor> grads = y.grad_fn()->backward(c.grad_output);
  if (grads.empty()) std::abort();  // keeps the call from being optimised away
}

double now_ms(bool cpu_clock) {
  if (cpu_clock) return 1e3 * double(std::clock()) / CLOCKS_PER_SEC;
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

constexpr const char* kUsage =
    "usage: bench_ops [--threads N] [--repeats R] [--iters K] [--only a,b] [--clock wall|cpu] [--stat median|min]\n";

// A positive integer, or 0 when `value` is not one.
int parse_positive(const char* value) {
  char* end = nullptr;
  long v = std::strtol(value, &end, 10);
  return end && !*end && v >= 1 && v <= 1000000 ? int(v) : 0;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, repeats = 7, iters = 50;
  bool cpu_clock = false, use_min = false;
  std::set<std::string> only;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    int* count = flag == "--threads" ? &threads : flag == "--repeats" ? &repeats : flag == "--iters" ? &iters : nullptr;
    if (value && count) {
      *count = parse_positive(value);
      if (*count == 0) {
        std::fprintf(stderr, "bench_ops: %s expects a positive integer, found '%s'\n", flag.c_str(), value);
        return 2;
      }
    } else if (value && flag == "--clock" && (std::string(value) == "wall" || std::string(value) == "cpu")) {
      cpu_clock = std::string(value) == "cpu";
    } else if (value && flag == "--stat" && (std::string(value) == "median" || std::string(value) == "min")) {
      use_min = std::string(value) == "min";
    } else if (value && flag == "--only") {
      std::stringstream ss(value);
      for (std::string name; std::getline(ss, name, ',');) only.insert(name);
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
  }
  set_num_threads(threads);

  Generator gen(0);
  auto rnd = [&](const Shape& s, bool grad = true) {
    Tensor t = randn(s, gen);
    if (grad) t.requires_grad_();
    return t;
  };
  Tensor x1 = rnd({64, 1, 28, 28}, false), w1 = rnd({10, 1, 5, 5}), b1 = rnd({10});
  Tensor x2 = rnd({64, 10, 12, 12}), w2 = rnd({20, 10, 5, 5}), b2 = rnd({20});
  Tensor p1 = rnd({64, 10, 24, 24}), p2 = rnd({64, 20, 8, 8});
  Tensor bn_x = rnd({64, 10, 24, 24}), bn_w = rnd({10}), bn_b = rnd({10});
  Tensor bn_rm = zeros({10}), bn_rv = ones({10});
  Tensor r = rnd({64, 10, 24, 24});
  Tensor fx = rnd({64, 320}), fw = rnd({50, 320}), fb = rnd({50});

  std::vector<Case> cases = {
      {"conv1", [&] { return conv2d(x1, w1, b1); }},
      {"conv2", [&] { return conv2d(x2, w2, b2); }},
      {"pool1", [&] { return max_pool2d(p1, 2); }},
      {"pool2", [&] { return max_pool2d(p2, 2); }},
      {"batch_norm", [&] { return batch_norm(bn_x, bn_rm, bn_rv, bn_w, bn_b, true); }},
      {"relu", [&] { return relu(r); }},
      {"fc1", [&] { return linear(fx, fw, fb); }},
  };

  for (Case& c : cases) {
    if (!only.empty() && !only.count(c.name)) continue;
    try {
      for (int i = 0; i < std::max(5, iters / 5); ++i) step(c);
      std::vector<double> ms;
      for (int r = 0; r < repeats; ++r) {
        double t0 = now_ms(cpu_clock);
        for (int i = 0; i < iters; ++i) step(c);
        ms.push_back((now_ms(cpu_clock) - t0) / iters);
      }
      const double stat = use_min ? *std::min_element(ms.begin(), ms.end()) : median(ms);
      std::printf("op %s ember_ms %.4f\n", c.name.c_str(), stat);
      std::fflush(stdout);
    } catch (const Error& e) {  // an op not implemented yet, say: report it and go on
      std::fprintf(stderr, "bench_ops: %s failed: %s\n", c.name.c_str(), e.what());
    }
  }
  return 0;
}
