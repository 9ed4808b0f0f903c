#pragma once
// The networks of the MNIST examples, as the PyTorch tutorial defines MNISTNet, a BatchNorm
// variant, and the Fashion-MNIST model of the README. Header-only so every example and test can share them.
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

// The Fashion-MNIST model of the README's recipe, written with the layers beyond MNISTNet's:
// conv-BN-ReLU blocks, two residual blocks, global average pooling and dropout. Its PyTorch twin is
// examples/fashion_twin.py; the parameter and buffer names are the same in both.
struct FashionNet : nn::Module {
  nn::Conv2d stem{nn::Conv2dOptions(1, 32, 3).padding(1).bias(false)};
  nn::BatchNorm2d bn0{32};
  nn::Conv2d conv1{nn::Conv2dOptions(32, 32, 3).padding(1).bias(false)};
  nn::BatchNorm2d bn1{32};
  nn::Conv2d conv2{nn::Conv2dOptions(32, 32, 3).padding(1).bias(false)};
  nn::BatchNorm2d bn2{32};
  nn::Conv2d down{nn::Conv2dOptions(32, 64, 3).stride(2).padding(1).bias(false)};
  nn::BatchNorm2d bn3{64};
  nn::Conv2d conv3{nn::Conv2dOptions(64, 64, 3).padding(1).bias(false)};
  nn::BatchNorm2d bn4{64};
  nn::Conv2d conv4{nn::Conv2dOptions(64, 64, 3).padding(1).bias(false)};
  nn::BatchNorm2d bn5{64};
  nn::AdaptiveAvgPool2d gap{1};
  nn::Dropout drop{0.3};
  nn::Linear fc{64, 10};

  FashionNet() {
    register_module("stem", stem);
    register_module("bn0", bn0);
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("down", down);
    register_module("bn3", bn3);
    register_module("conv3", conv3);
    register_module("bn4", bn4);
    register_module("conv4", conv4);
    register_module("bn5", bn5);
    register_module("gap", gap);
    register_module("drop", drop);
    register_module("fc", fc);
  }
  std::string name() const override { return "FashionNet"; }

  // x: (N, 1, 28, 28) -> (N, 10)
  Tensor forward(const Tensor& x) override {
    Tensor h = max_pool2d(relu(bn0(stem(x))), 2);     // (N, 32, 14, 14)
    Tensor r = bn2(conv2(relu(bn1(conv1(h)))));       // first residual branch
    h = relu(h + r);                                  // (N, 32, 14, 14)
    h = relu(bn3(down(h)));                           // (N, 64, 7, 7)
    r = bn5(conv4(relu(bn4(conv3(h)))));              // second residual branch
    h = relu(h + r);                                  // (N, 64, 7, 7)
    return fc(drop(gap(h).flatten(1)));               // (N, 64) -> (N, 10)
  }
};

// A model chosen by name ("mnistnet", "mnistnet-bn" or "fashionnet"), held through its base class:
// run it as (*model)(x), which calls the model's own forward.
inline std::shared_ptr<nn::Module> make_mnist_model(const std::string& name) {
  if (name == "mnistnet") return std::make_shared<MNISTNet>();
  if (name == "mnistnet-bn") return std::make_shared<MNISTNetBN>();
  if (name == "fashionnet") return std::make_shared<FashionNet>();
  EMBER_FAIL("unknown model '", name, "' (expected mnistnet, mnistnet-bn or fashionnet)");
}

}  // namespace ember::examples
