// Exercise 3: transfer the compatible weights of a trained MNISTNet into a modified architecture
// (BatchNorm added, a wider fc1), layer by layer.
// docs/state-dicts.md, section "Exercises".
//
//   build/bin/exercise_transfer_compatible
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>

#include "examples/models.h"
#include "examples/sd_common.h"

using namespace ember;

namespace {

// MNISTNet with BatchNorm after each convolution and 128 hidden units instead of 50.
struct WideMNISTNetBN : nn::Module {
  nn::Conv2d conv1{1, 10, 5};
  nn::BatchNorm2d bn1{10};
  nn::Conv2d conv2{10, 20, 5};
  nn::BatchNorm2d bn2{20};
  nn::Linear fc1{320, 128};
  nn::Linear fc2{128, 10};
  WideMNISTNetBN() {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "WideMNISTNetBN"; }
  Tensor forward(const Tensor& x) {
    Tensor h = relu(max_pool2d(bn1(conv1(x)), 2));
    h = relu(max_pool2d(bn2(conv2(h)), 2));
    return fc2(relu(fc1(h.flatten(1))));
  }
};

// [transfer]
// A layer is what precedes the last dot of a key ("conv1" of "conv1.weight"). A layer's entries
// move together or not at all: fc2.bias alone, next to a fresh fc2.weight, would mean nothing.
struct TransferReport {
  std::vector<std::string> copied;      // every entry of the layer matches by name and shape
  std::vector<std::string> mismatched;  // in both, but some shape differs: keeps its initialisation
  std::vector<std::string> new_layers;  // only in the target: keeps its initialisation
  std::vector<std::string> dropped;     // only in the source
};

std::string layer_of(const std::string& key) { return key.substr(0, key.rfind('.')); }

// Each layer's keys, in state-dict order.
std::vector<std::pair<std::string, std::vector<std::string>>> layers_of(const StateDict& sd) {
  std::vector<std::pair<std::string, std::vector<std::string>>> layers;
  for (const auto& [key, t] : sd) {
    if (layers.empty() || layers.back().first != layer_of(key)) layers.push_back({layer_of(key), {}});
    layers.back().second.push_back(key);
  }
  return layers;
}

TransferReport transfer_compatible(const StateDict& source, nn::Module& target) {
  StateDict target_sd = target.state_dict();
  std::set<std::string> source_layers, target_layers;
  for (const auto& [layer, keys] : layers_of(source)) source_layers.insert(layer);
  TransferReport report;
  StateDict take;
  for (const auto& [layer, keys] : layers_of(target_sd)) {
    target_layers.insert(layer);
    bool fits = std::all_of(keys.begin(), keys.end(), [&](const std::string& key) {
      const Tensor* s = source.find(key);
      return s && s->shape() == target_sd.at(key).shape();
    });
    if (fits) {
      report.copied.push_back(layer);
      for (const std::string& key : keys) take.insert(key, source.at(key));
    } else {
      (source_layers.count(layer) ? report.mismatched : report.new_layers).push_back(layer);
    }
  }
  for (const auto& [layer, keys] : layers_of(source))
    if (!target_layers.count(layer)) report.dropped.push_back(layer);
  target.load_state_dict(take, /*strict=*/false);  // the layers not in `take` stay as they are
  return report;
}
// [/transfer]

}  // namespace

int main() {
  return examples::run_program("exercise_transfer_compatible", [] {
    manual_seed(0);
    examples::MNISTNet trained;  // stands in for a trained model: only names and shapes matter here
    manual_seed(1);
    WideMNISTNetBN wide;
    std::cout << wide << "\n";
    TransferReport r = transfer_compatible(trained.state_dict(), wide);
    std::cout << "copied:     " << examples::join(r.copied) << "\n";
    std::cout << "mismatched: " << examples::join(r.mismatched) << " (kept their initialisation)\n";
    std::cout << "new:        " << examples::join(r.new_layers) << "\n";
    std::cout << "dropped:    " << examples::join(r.dropped) << "\n";
    std::printf("conv2.weight equals the trained one: %s; fc2.bias does not (its layer did not fit): %s\n",
                examples::max_abs_diff(wide.conv2.weight, trained.conv2.weight) == 0 ? "yes" : "no",
                examples::max_abs_diff(wide.fc2.bias, trained.fc2.bias) != 0 ? "yes" : "no");
    Tensor images = randn({2, 1, 28, 28});
    std::cout << "the modified model runs: " << images.shape() << " -> " << wide.forward(images).shape() << "\n";
  });
}
