#pragma once
// Helpers for the ONNX tests: where ONNX Runtime for Node.js is, running the models of
// examples/models.h in it, and a short training run so that exported models have real weights.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ember/core/ops.h"
#include "ember/data/mnist.h"
#include "ember/nn/module.h"
#include "ember/optim/sgd.h"

namespace ember::test {

// The onnxruntime-node package folder: $EMBER_ONNXRUNTIME_NODE, else where scripts/setup.sh
// installs it (<source>/.deps/onnxruntime/node_modules/onnxruntime-node); "" when neither exists.
inline std::string onnxruntime_node_dir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("EMBER_ONNXRUNTIME_NODE"); env && *env) return fs::exists(env) ? env : "";
  fs::path p = fs::path(EMBER_SOURCE_DIR) / ".deps/onnxruntime/node_modules/onnxruntime-node";
  return fs::exists(p / "package.json") ? p.string() : "";
}

inline bool node_available() { return std::system("node --version >/dev/null 2>&1") == 0; }

inline std::string mnist_dir() { return std::string(EMBER_SOURCE_DIR) + "/datasets/mnist"; }

// `steps` SGD steps (lr 0.05, momentum 0.5) on batches of 64 of MNIST's training set, then eval().
inline void train_briefly(nn::Module& model, const data::MNIST& train, int steps, uint64_t seed) {
  manual_seed(seed);
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.05).momentum(0.5));
  model.train();
  std::vector<int64_t> idx(64);
  for (int s = 0; s < steps; ++s) {
    for (int64_t k = 0; k < 64; ++k) idx[size_t(k)] = (int64_t(s) * 64 + k) % train.size();
    data::Batch b = train.get_batch(idx);
    opt.zero_grad();
    Tensor loss = cross_entropy(model(b.data), b.target);
    loss.backward();
    opt.step();
  }
  model.eval();
}

}  // namespace ember::test
