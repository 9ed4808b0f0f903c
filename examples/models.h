#pragma once
// The two networks of the MNIST examples, as the PyTorch tutorial defines MNISTNet, plus a BatchNorm
// variant. Header-only so every example and test can share them.
#include <memory>
#include <string>

#include "ember/core/ops.h"
#include "ember/nn/layers.h"

namespace ember::examples {

// conv1 -> pool -> relu -> conv2 -> pool -> relu -> fc1 -> relu -> fc2 (logits)
struct MNISTNet : nn::Module {
  nn::Conv2d conv1{1, 10, 5};
  nn::Conv2d conv2{10, 20, 5};
  nn::Linear fc1{320, 50};
  nn::Linear fc2{50, 10};

  MNISTNet() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "MNISTNet"; }

  // x: (N, 1, 28, 28) -> (N, 10)
  Tensor forward(const Tensor& x) override {
    Tensor h = relu(max_pool2d(conv1(x), 2));  // (N, 10, 12, 12)
    h = relu(max_pool2d(conv2(h), 2));         // (N, 20, 4, 4)
    h = relu(fc1(h.flatten(1)));               // (N, 50)
    return fc2(h);
  }
};

// MNISTNet with BatchNorm after each hidden layer.
struct MNISTNetBN : nn::Module {
  nn::Conv2d conv1{1, 10, 5};
  nn::BatchNorm2d bn1{10};
  nn::Conv2d conv2{10, 20, 5};
  nn::BatchNorm2d bn2{20};
  nn::Linear fc1{320, 50};
  nn::BatchNorm1d bn3{50};
  nn::Linear fc2{50, 10};

  MNISTNetBN() {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("fc1", fc1);
    register_module("bn3", bn3);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "MNISTNetBN"; }

  Tensor forward(const Tensor& x) override {
    Tensor h = relu(max_pool2d(bn1(conv1(x)), 2));
    h = relu(max_pool2d(bn2(conv2(h)), 2));
    h = relu(bn3(fc1(h.flatten(1))));
    return fc2(h);
  }
};

// A model chosen by name ("mnistnet" or "mnistnet-bn"), held through its base class: run it as
// (*model)(x), which calls the model's own forward.
inline std::shared_ptr<nn::Module> make_mnist_model(const std::string& name) {
  if (name == "mnistnet") return std::make_shared<MNISTNet>();
  if (name == "mnistnet-bn") return std::make_shared<MNISTNetBN>();
  EMBER_FAIL("unknown model '", name, "' (expected mnistnet or mnistnet-bn)");
}

}  // namespace ember::examples
