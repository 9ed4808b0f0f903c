// Times one optim::SGD step over MNISTNet's parameters (conv1, conv2, fc1, fc2: 21,840 floats), with
// fixed gradients, for the update rules train_mnist uses. Prints `op <case> ember_ms <ms per step>`,
// the lines bench/compare_ops.sh reads (BENCH=bench_sgd bench/compare_ops.sh BEFORE AFTER), so a
// change to the optimizer can be measured against the build before it.
//
// usage: bench_sgd [--threads N] [--repeats R] [--iters K]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "ember/core/ops.h"
#include "ember/core/parallel.h"
#include "ember/optim/sgd.h"

using namespace ember;

namespace {
int positive(const char* v) {
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return end && !*end && x >= 1 && x <= 1000000 ? int(x) : 0;
}
}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 5, iters = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    int* n = flag == "--threads" ? &threads : flag == "--repeats" ? &repeats : flag == "--iters" ? &iters : nullptr;
    if (!n || !(*n = positive(argv[i + 1]))) {
      std::fprintf(stderr, "usage: bench_sgd [--threads N] [--repeats R] [--iters K]\n");
      return 2;
    }
  }
  set_num_threads(threads);
  struct Rule {
    const char* name;
    optim::SGDOptions options;
  };
  const std::vector<Rule> rules = {
      {"sgd", optim::SGDOptions(0.01)},
      {"sgd_momentum", optim::SGDOptions(0.01).momentum(0.5)},  // the tutorial's recipe
      {"sgd_nesterov_wd", optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4)},
  };
  Generator gen(0);
  for (const Rule& rule : rules) {
    std::vector<Tensor> params;
    for (const Shape& s : std::vector<Shape>{{10, 1, 5, 5}, {10}, {20, 10, 5, 5}, {20}, {50, 320}, {50}, {10, 50}, {10}}) {
      Tensor p = randn(s, gen).requires_grad_();
      p.set_grad(mul(randn(s, gen), 1e-3));
      params.push_back(p);
    }
    optim::SGD opt(params, rule.options);
    for (int i = 0; i < 50; ++i) opt.step();
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
      std::clock_t t0 = std::clock();
      for (int i = 0; i < iters; ++i) opt.step();
      ms.push_back(1e3 * double(std::clock() - t0) / CLOCKS_PER_SEC / iters);
    }
    std::printf("op %s ember_ms %.5f\n", rule.name, *std::min_element(ms.begin(), ms.end()));
    std::fflush(stdout);
  }
  return 0;
}
