#pragma once
// What the state-dict tutorial's programs (examples/sd_*.cpp, examples/exercise_*.cpp) share: a
// two-layer network, a synthetic classification task that trains in milliseconds, a training
// epoch, an evaluation, and printers. docs/state-dicts.md walks through the programs; the lines
// between "// [name]" and "// [/name]" in them are the excerpts it shows (tests/test_tutorial.cpp
// checks that the page and the code agree).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "ember/core/ops.h"
#include "ember/data/dataloader.h"
#include "ember/data/dataset.h"
#include "ember/core/value.h"
#include "ember/nn/layers.h"
#include "ember/nn/options.h"
#include "ember/optim/optimizer.h"

namespace ember::examples {

// [two-layer-net]
// fc1 -> relu -> fc2. x: (N, in) -> (N, out)
struct TwoLayerNet : nn::Module {
  nn::Linear fc1, fc2;
  TwoLayerNet(int64_t in = 10, int64_t hidden = 20, int64_t out = 2) : fc1(in, hidden), fc2(hidden, out) {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "TwoLayerNet"; }
  Tensor forward(const Tensor& x) { return fc2(relu(fc1(x))); }
};
// [/two-layer-net]

// A labelled point cloud: x ~ N(0, 1) in `dim` dimensions, and the label is the class whose column
// of a "teacher" matrix (dim, classes) has the largest dot product with x. `teacher_seed` draws a
// random teacher (or pass one), `seed` the points; `noise` is the fraction of labels replaced by
// random ones (to make a model overfit). Everything comes from its own Generator, so the data
// never depends on what else ran.
inline Tensor random_teacher(int64_t dim, int64_t classes, uint64_t seed) {
  Generator gen(seed);
  return randn({dim, classes}, gen);
}

class SyntheticTask : public data::Dataset {
 public:
  SyntheticTask(int64_t n, int64_t dim, int64_t classes, uint64_t teacher_seed, uint64_t seed, double noise = 0)
      : SyntheticTask(n, random_teacher(dim, classes, teacher_seed), seed, noise) {}
  SyntheticTask(int64_t n, const Tensor& teacher, uint64_t seed, double noise = 0) {
    Generator gen(seed);
    int64_t classes = teacher.size(1);
    x_ = randn({n, teacher.size(0)}, gen);
    y_ = argmax(matmul(x_, teacher), 1);  // (N) int64
    auto* y = y_.data<int64_t>();
    for (int64_t i = 0; i < n; ++i)
      if (gen.next_double() < noise) y[i] = int64_t(gen.next_below(uint64_t(classes)));
  }
  int64_t size() const override { return x_.size(0); }
  data::Batch get_batch(std::span<const int64_t> indices) const override {
    int64_t dim = x_.size(1);
    data::Batch b;
    b.data = empty({int64_t(indices.size()), dim});
    b.target = empty({int64_t(indices.size())}, kInt64);
    for (size_t r = 0; r < indices.size(); ++r) {
      std::copy_n(x_.data<float>() + indices[r] * dim, dim, b.data.data<float>() + r * dim);
      b.target.data<int64_t>()[r] = y_.data<int64_t>()[indices[r]];
    }
    b.indices.assign(indices.begin(), indices.end());
    return b;
  }
  const Tensor& x() const { return x_; }  // (N, dim) float32
  const Tensor& y() const { return y_; }  // (N) int64

 private:
  Tensor x_, y_;
};

using Forward = std::function<Tensor(const Tensor&)>;

// One pass of the loader (the rest of its current epoch); returns the mean training loss.
inline double train_epoch(nn::Module& model, const Forward& forward, optim::Optimizer& optimizer,
                          data::DataLoader& loader) {
  model.train();
  double total = 0;
  int64_t batches = 0;
  for (data::Batch& b : loader) {
    optimizer.zero_grad();
    Tensor loss = cross_entropy(forward(b.data), b.target);
    loss.backward();
    optimizer.step();
    total += loss.item();
    ++batches;
  }
  return batches ? total / double(batches) : 0.0;
}

// Percentage of rows of `logits` (N, classes) whose largest entry is at the label (N).
inline double percent_correct(const Tensor& logits, const Tensor& labels) {
  auto pred = argmax(logits, 1).to_vector<int64_t>();
  auto truth = labels.to_vector<int64_t>();
  int64_t correct = 0;
  for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == truth[i];
  return 100.0 * double(correct) / double(pred.size());
}

// Percentage of `task` that `forward` classifies correctly, in eval mode and without gradients.
inline double accuracy(nn::Module& model, const Forward& forward, const SyntheticTask& task) {
  model.eval();
  NoGradGuard no_grad;
  return percent_correct(forward(task.x()), task.y());
}

// "[20, 10]" for a tensor of that shape; "[]" for a 0-d one.
inline std::string shape_of(const Tensor& t) { return shape_str(t.shape()); }

// Each entry as "name  shape  dtype  elements", the columns aligned.
inline void print_state_dict(const StateDict& sd, const std::string& indent = "  ") {
  size_t width = 0, shape_width = 0;
  for (const auto& [key, t] : sd) {
    width = std::max(width, key.size());
    shape_width = std::max(shape_width, shape_of(t).size());
  }
  for (const auto& [key, t] : sd)
    std::printf("%s%-*s  %-*s  %-7s  %6lld\n", indent.c_str(), int(width), key.c_str(), int(shape_width),
                shape_of(t).c_str(), dtype_name(t.dtype()), (long long)t.numel());
}

// Total elements of a state dict's tensors.
inline int64_t total_elements(const StateDict& sd) {
  int64_t n = 0;
  for (const auto& [key, t] : sd) n += t.numel();
  return n;
}

// "a, b, c"; `empty` for an empty list.
inline std::string join(const std::vector<std::string>& items, const std::string& empty = "-") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return items.empty() ? empty : out;
}

// Values of a small tensor with 4 decimals: "[0.1234, -0.5000]".
inline std::string values_of(const Tensor& t) {
  std::string out = "[";
  auto v = t.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.4f", i ? ", " : "", v[i]);
    out += buf;
  }
  return out + "]";
}

// A value tree in Python's notation, laid out as pprint does: a list of scalars, or a dict of
// scalars and such lists, stays on one line if it fits in 100 columns; anything else puts one item
// on each line. A tensor counts as a scalar and shows as <float32 tensor [20, 10]>.
inline std::string value_str(const Value& v, int indent = 0) {
  auto leaf = [](const Value& y) { return !y.is_dict() && !y.is_list(); };
  auto flat = [&](const Value& x) {
    if (x.is_list()) return std::all_of(x.as_list().begin(), x.as_list().end(), leaf);
    return std::all_of(x.as_dict().begin(), x.as_dict().end(), [&](const auto& kv) {
      return leaf(kv.second) ||
             (kv.second.is_list() && std::all_of(kv.second.as_list().begin(), kv.second.as_list().end(), leaf));
    });
  };
  std::string pad(size_t(indent) + 2, ' ');
  switch (v.kind()) {
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.as_bool() ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Double: return nn::py_float(v.as_double());
    case Value::Kind::String: return "'" + v.as_string() + "'";
    case Value::Kind::Tensor:
      return std::string("<") + dtype_name(v.as_tensor().dtype()) + " tensor " + shape_of(v.as_tensor()) + ">";
    case Value::Kind::List:
    case Value::Kind::Dict: {
      bool is_list = v.is_list();
      if (v.size() == 0) return is_list ? "[]" : "{}";
      std::vector<std::string> items;
      if (is_list) {
        for (size_t i = 0; i < v.size(); ++i) items.push_back(value_str(v.at(i), indent + 2));
      } else {
        for (const auto& [key, child] : v.as_dict()) items.push_back("'" + key + "': " + value_str(child, indent + 2));
      }
      std::string open = is_list ? "[" : "{", close = is_list ? "]" : "}", out = open;
      for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
      out += close;
      if (flat(v) && size_t(indent) + out.size() <= 100) return out;
      out = open;
      for (size_t i = 0; i < items.size(); ++i) out += (i ? ",\n" : "\n") + pad + items[i];
      return out + "\n" + std::string(size_t(indent), ' ') + close;
    }
  }
  return "?";
}

// Largest |a - b| over two tensors of one shape.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// The folder a program writes its files into (created if needed).
inline std::string output_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string path_in(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

// Runs a program body and turns an ember::Error into "program: message" and exit status 1.
inline int run_program(const char* program, const std::function<void()>& body) {
  try {
    body();
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace ember::examples
