// Exercise 1: examine a small CNN's state dict against a fully connected network's, for the same
// 28x28 images, and see what each depends on.
// docs/state-dicts.md, section "Exercises".
//
//   build/bin/exercise_cnn_vs_fc
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"

using namespace ember;

namespace {

// conv(3x3) -> pool -> relu -> conv(3x3) -> pool -> relu -> fc. x: (N, 1, S, S) -> (N, 10)
struct SmallCNN : nn::Module {
  nn::Conv2d conv1{1, 8, 3}, conv2{8, 16, 3};
  nn::MaxPool2d pool{2};
  nn::Linear fc;
  // The only size that depends on the image: what reaches fc after two (conv 3x3, pool 2) stages.
  static int64_t side_after_convs(int64_t s) { return ((s - 2) / 2 - 2) / 2; }
  explicit SmallCNN(int64_t image_size = 28)
      : fc(16 * side_after_convs(image_size) * side_after_convs(image_size), 10) {
    register_module("conv1", conv1);
    register_module("pool", pool);
    register_module("conv2", conv2);
    register_module("fc", fc);
  }
  std::string name() const override { return "SmallCNN"; }
  Tensor forward(const Tensor& x) {
    Tensor h = relu(pool(conv1(x)));
    h = relu(pool(conv2(h)));
    return fc(h.flatten(1));
  }
};

// flatten -> fc1 -> relu -> fc2. x: (N, 1, S, S) -> (N, 10)
struct MLP : nn::Module {
  nn::Linear fc1, fc2{128, 10};
  explicit MLP(int64_t image_size = 28) : fc1(image_size * image_size, 128) {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "MLP"; }
  Tensor forward(const Tensor& x) { return fc2(relu(fc1(x.flatten(1)))); }
};

// Each entry with its shape, element count, and how many weights one output unit of the layer has.
void describe(const nn::Module& model) {
  StateDict sd = model.state_dict();
  std::cout << model.name() << ": " << sd.size() << " tensors, " << examples::total_elements(sd) << " values\n";
  std::printf("  %-12s %-14s %7s  %s\n", "name", "shape", "values", "weights");
  for (const auto& [key, t] : sd) {
    std::string role = "-";
    if (t.dim() == 4) role = std::to_string(t.numel() / t.size(0)) + " per output channel, reused at every position";
    else if (t.dim() == 2) role = std::to_string(t.size(1)) + " per output";
    std::printf("  %-12s %-14s %7lld  %s\n", key.c_str(), examples::shape_of(t).c_str(), (long long)t.numel(),
                role.c_str());
  }
}

// The entries whose shapes differ between two state dicts of one architecture.
void compare(const StateDict& a, const StateDict& b) {
  for (const auto& [key, t] : a) {
    const Tensor& u = b.at(key);
    std::printf("  %-12s %-14s %s\n", key.c_str(), examples::shape_of(t).c_str(),
                t.shape() == u.shape() ? "same" : ("-> " + examples::shape_of(u)).c_str());
  }
}

}  // namespace

int main() {
  return examples::run_program("exercise_cnn_vs_fc", [] {
    manual_seed(0);
    SmallCNN cnn;
    MLP mlp;
    std::cout << cnn << "\n";
    describe(cnn);
    std::cout << "\n" << mlp << "\n";
    describe(mlp);
    std::cout << "\npool has no entries: " << (cnn.pool.state_dict().empty() ? "yes" : "no")
              << " (pooling and relu have nothing to learn; kernel sizes and strides are code, not state)\n";

    Tensor images = randn({4, 1, 28, 28});
    std::cout << "both map " << images.shape() << " to " << cnn.forward(images).shape() << " and "
              << mlp.forward(images).shape() << "\n";

    std::cout << "\nthe same networks for 56x56 images:\nSmallCNN\n";
    compare(cnn.state_dict(), SmallCNN(56).state_dict());
    std::cout << "MLP\n";
    compare(mlp.state_dict(), MLP(56).state_dict());
  });
}
