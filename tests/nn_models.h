#pragma once
// The two MNIST-style nets of tests/reference/gen_nn.py, mirrored in Ember, for the module and
// state dict tests (names, printing, state dict keys and load_state_dict messages against PyTorch's).
#include <memory>
#include <optional>
#include <string>

#include "ember/core/ops.h"
#include "ember/nn/layers.h"

namespace ember::test {

using namespace ember::nn;  // NOLINT: test models only

// Mirrors MNISTNet in gen_nn.py.
struct MNISTNet : nn::Module {
  Conv2d conv1{1, 10, 5};
  Conv2d conv2{10, 20, 5};
  MaxPool2d pool{2};
  Dropout dropout{0.5};
  Linear fc1{320, 50};
  Linear fc2{50, 10};
  MNISTNet() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("pool", pool);
    register_module("dropout", dropout);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "MNISTNet"; }
  Tensor forward(const Tensor& x) {
    Tensor h = relu(pool(conv1(x)));
    h = relu(pool(dropout(conv2(h))));
    h = relu(fc1(h.flatten(1)));
    return log_softmax(fc2(dropout(h)), 1);
  }
};

// Mirrors MNISTNetBN in gen_nn.py: BatchNorm variants, a bias-less conv, a Sequential child, a
// non-persistent and a persistent buffer of its own.
struct MNISTNetBN : nn::Module {
  Conv2d conv1{1, 10, 5};
  BatchNorm2d bn1{10};
  Conv2d conv2{Conv2dOptions(10, 20, 5).padding(2).bias(false)};
  BatchNorm2d bn2{BatchNormOptions(20).momentum(std::nullopt)};
  MaxPool2d pool{IntOrPair(2, 2)};
  Flatten flatten;
  Linear fc1{320, 50};
  BatchNorm1d bn3{BatchNormOptions(50).eps(0.001).affine(false)};
  Dropout drop{0.25};
  Sequential head{std::make_shared<Linear>(50, 10, false), std::make_shared<ReLU>()};
  MNISTNetBN() {
    register_buffer("scratch", zeros({3}), /*persistent=*/false);
    register_buffer("calls", zeros({1}));
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("pool", pool);
    register_module("flatten", flatten);
    register_module("fc1", fc1);
    register_module("bn3", bn3);
    register_module("drop", drop);
    register_module("head", head);
  }
  std::string name() const override { return "MNISTNetBN"; }
};

}  // namespace ember::test
