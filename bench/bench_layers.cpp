// The layer benchmark, Ember's side: forward + backward of the cases in bench/layer_cases.txt
// (bench/bench_layers.py is PyTorch's side; bench/run_layers.sh runs both and prints the ratios).
// Prints one line per case: `layer <name> ember_ms <median ms per iteration>`.
//
// An iteration runs the layer and backward() from a gradient of ones made once, into fresh .grad
// of the inputs that need one (reset each time, so nothing accumulates). Each case warms up, then
// sizes its repeats to about --target-ms each (at least one iteration) and reports their median.
//
// usage: bench_layers [--cases FILE] [--threads N] [--repeats R] [--target-ms T] [--only a,b] [--clock wall|cpu]
// --clock cpu times the process's CPU time: at one thread on a busy machine, steadier than wall time.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ember/core/cpu/dnnl_conv.h"
#include "ember/core/ops.h"
#include "ember/core/parallel.h"

using namespace ember;

namespace {

struct Case {
  std::string name;
  std::function<Tensor()> forward;
  std::vector<Tensor> leaves;     // inputs whose gradients are computed
  Tensor grad_output = Tensor();  // ones, made on the first call
};

void step(Case& c) {
  for (Tensor& t : c.leaves) t.set_grad(Tensor());
  Tensor y = c.forward();
  if (!c.grad_output.defined()) c.grad_output = ones_like(y);
  y.backward(c.grad_output);
}

bool g_cpu_clock = false;
double now_ms() {
  if (g_cpu_clock) return 1e3 * double(std::clock()) / CLOCKS_PER_SEC;
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "bench_layers: %s\nusage: bench_layers [--cases FILE] [--threads N] [--repeats R] "
               "[--target-ms T] [--only a,b] [--clock wall|cpu]\n", why.c_str());
  std::exit(2);
}

int parse_positive(const std::string& flag, const char* value) {
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (!end || *end || v < 1 || v > 1000000) usage(flag + " expects a positive integer, found '" + value + "'");
  return int(v);
}

// One line of the case file -> a case on random inputs (seeded, so every run times the same data).
Case make_case(const std::string& line, Generator& gen) {
  std::istringstream in(line);
  std::string name, kind;
  in >> name >> kind;
  std::vector<int64_t> v;
  for (int64_t x; in >> x;) v.push_back(x);
  auto rnd = [&](const Shape& s, bool grad) {
    Tensor t = randn(s, gen);
    if (grad) t.requires_grad_();
    return t;
  };
  auto need = [&](size_t n) {
    if (v.size() != n) usage("case '" + name + "' (" + kind + ") expects " + std::to_string(n) + " numbers");
  };
  Case c{name, {}, {}};
  if (kind == "conv") {
    need(10);
    const int64_t N = v[0], C = v[1], H = v[2], W = v[3], O = v[4], k = v[5], s = v[6], p = v[7], g = v[8];
    Tensor x = rnd({N, C, H, W}, v[9] != 0), w = rnd({O, C / g, k, k}, true), b = rnd({O}, true);
    c.forward = [=] { return conv2d(x, w, b, s, p, 1, g); };
    c.leaves = {w, b};
    if (v[9]) c.leaves.push_back(x);
  } else if (kind == "linear") {
    need(4);
    Tensor x = rnd({v[0], v[1]}, v[3] != 0), w = rnd({v[2], v[1]}, true), b = rnd({v[2]}, true);
    c.forward = [=] { return linear(x, w, b); };
    c.leaves = {w, b};
    if (v[3]) c.leaves.push_back(x);
  } else if (kind == "batchnorm") {
    need(4);
    Tensor x = rnd({v[0], v[1], v[2], v[3]}, true), w = rnd({v[1]}, true), b = rnd({v[1]}, true);
    Tensor rm = zeros({v[1]}), rv = ones({v[1]});
    c.forward = [=] { return batch_norm(x, rm, rv, w, b, true); };
    c.leaves = {x, w, b};
  } else if (kind == "maxpool" || kind == "avgpool") {
    need(7);
    Tensor x = rnd({v[0], v[1], v[2], v[3]}, true);
    const int64_t k = v[4], s = v[5], p = v[6];
    if (kind == "maxpool") c.forward = [=] { return max_pool2d(x, k, s, p); };
    else c.forward = [=] { return avg_pool2d(x, k, s, p); };
    c.leaves = {x};
  } else {
    usage("case '" + name + "': unknown kind '" + kind + "'");
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cases_path = "bench/layer_cases.txt";  // from the source root
  int threads = 1, repeats = 5, target_ms = 100;
  std::set<std::string> only;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + " expects a value");
    const char* value = argv[i + 1];
    if (flag == "--cases") cases_path = value;
    else if (flag == "--threads") threads = parse_positive(flag, value);
    else if (flag == "--repeats") repeats = parse_positive(flag, value);
    else if (flag == "--target-ms") target_ms = parse_positive(flag, value);
    else if (flag == "--clock" && (std::string(value) == "wall" || std::string(value) == "cpu"))
      g_cpu_clock = std::string(value) == "cpu";
    else if (flag == "--only") {
      std::stringstream ss(value);
      for (std::string name; std::getline(ss, name, ',');) only.insert(name);
    } else usage("unknown option " + flag);
  }
  set_num_threads(threads);
  const char* method = std::getenv("EMBER_CONV");
  std::printf("ember conv2d: oneDNN %s in this build, EMBER_CONV=%s\n", dnnl_conv::compiled() ? "on" : "off",
              method && *method ? method : "(unset: the rule of core/cpu/dnnl_conv.cpp)");
  std::ifstream file(cases_path);
  if (!file) usage("cannot read " + cases_path);
  Generator gen(0);
  for (std::string line; std::getline(file, line);) {
    if (line.empty() || line[0] == '#') continue;
    Case c = make_case(line, gen);
    if (!only.empty() && !only.count(c.name)) continue;
    try {
      for (int i = 0; i < 2; ++i) step(c);
      double t0 = now_ms();
      step(c);
      const double one = std::max(now_ms() - t0, 1e-3);
      const int iters = int(std::clamp(std::ceil(target_ms / one), 1.0, 1000.0));
      std::vector<double> ms;
      for (int r = 0; r < repeats; ++r) {
        t0 = now_ms();
        for (int i = 0; i < iters; ++i) step(c);
        ms.push_back((now_ms() - t0) / iters);
      }
      std::printf("layer %s ember_ms %.4f\n", c.name.c_str(), median(ms));
      std::fflush(stdout);
    } catch (const Error& e) {  // a layer Ember lacks: say so and go on
      std::fprintf(stderr, "bench_layers: %s failed: %s\n", c.name.c_str(), e.what());
    }
  }
  return 0;
}
