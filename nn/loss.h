#pragma once
// Loss modules: the losses of core/ops.h with their options held, printed as PyTorch's
// (CrossEntropyLoss()). forward(input, target) -> the loss. A class weight is a registered buffer
// ("weight"), as in PyTorch, so it moves with Module::to and appears in the state dict.
#include <string>

#include "ember/core/ops.h"
#include "ember/nn/module.h"

namespace ember::nn {

class MSELoss : public Module {
 public:
  explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return mse_loss(input, target, reduction_); }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "MSELoss"; }

 private:
  Reduction reduction_;
};

class L1Loss : public Module {
 public:
  explicit L1Loss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return l1_loss(input, target, reduction_); }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "L1Loss"; }

 private:
  Reduction reduction_;
};

class BCELoss : public Module {
 public:
  explicit BCELoss(const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean);
  Tensor forward(const Tensor& input, const Tensor& target) {
    return binary_cross_entropy(input, target, weight, reduction_);
  }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "BCELoss"; }

  Tensor weight;  // buffer, or undefined

 private:
  Reduction reduction_;
};

class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(const Tensor& weight = Tensor(), Reduction reduction = Reduction::Mean,
                             const Tensor& pos_weight = Tensor());
  Tensor forward(const Tensor& input, const Tensor& target) {
    return binary_cross_entropy_with_logits(input, target, weight, reduction_, pos_weight);
  }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "BCEWithLogitsLoss"; }

  Tensor weight, pos_weight;  // buffers, or undefined

 private:
  Reduction reduction_;
};

class NLLLoss : public Module {
 public:
  explicit NLLLoss(const NllLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) {
    return nll_loss(input, target, NllLossOptions(options_).weight(weight));
  }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "NLLLoss"; }

  Tensor weight;  // buffer, or undefined

 private:
  NllLossOptions options_;
};

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(const CrossEntropyOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target) {
    return cross_entropy(input, target, CrossEntropyOptions(options_).weight(weight));
  }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string name() const override { return "CrossEntropyLoss"; }

  Tensor weight;  // buffer, or undefined

 private:
  CrossEntropyOptions options_;
};

}  // namespace ember::nn
