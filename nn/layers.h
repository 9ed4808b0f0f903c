#pragma once
// The layers: Linear, Conv2d, MaxPool2d, BatchNorm1d/2d, ReLU, Flatten, Dropout here; activations,
// norms, embedding, pooling and losses in the headers included at the end (Sequential and
// ModuleList are in nn/containers.h).
// Each takes a plain options struct with chained setters (or its common arguments directly),
// validates it in the constructor, names its parameters and buffers as PyTorch does, initialises
// them as PyTorch does (from ember::default_generator(), so ember::manual_seed fixes a model) and
// prints as PyTorch prints it. Layers are created on the CPU in float32; Module::to moves them.
// The public `weight`, `bias`, ... members are handles to the registered tensors: change their values
// in place (copy_, fill_, nn::init) rather than assigning a new tensor to the member, which would
// leave the registered one (what parameters() and state_dict() see) unchanged.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/core/ops.h"
#include "ember/nn/containers.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

// ---- Linear: x (*, in_features) -> (*, out_features) ----
struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  EMBER_ARG(int64_t, in_features);
  EMBER_ARG(int64_t, out_features);
  EMBER_ARG(bool, bias) = true;
};

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options);
  Linear(int64_t in_features, int64_t out_features, bool bias = true)
      : Linear(LinearOptions(in_features, out_features).bias(bias)) {}
  Tensor forward(const Tensor& x) override;
  // weight and bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), as PyTorch.
  void reset_parameters();
  const LinearOptions& options() const { return options_; }
  std::string name() const override { return "Linear"; }
  std::string extra_repr() const override;

  Tensor weight;  // (out_features, in_features)
  Tensor bias;    // (out_features); undefined without bias

 private:
  LinearOptions options_;
};

// ---- Conv2d: x (N, C_in, H, W) -> (N, C_out, Ho, Wo) ----
struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, IntOrPair kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_ARG(int64_t, in_channels);
  EMBER_ARG(int64_t, out_channels);
  EMBER_ARG(IntOrPair, kernel_size);
  EMBER_ARG(IntOrPair, stride) = 1;
  EMBER_ARG(IntOrPair, padding) = 0;
  EMBER_ARG(IntOrPair, dilation) = 1;
  EMBER_ARG(int64_t, groups) = 1;  // in_channels and out_channels must both be multiples
  EMBER_ARG(bool, bias) = true;
};

class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Conv2d(int64_t in_channels, int64_t out_channels, IntOrPair kernel_size)
      : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  // weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels * kh * kw.
  void reset_parameters();
  const Conv2dOptions& options() const { return options_; }
  std::string name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  Tensor weight;  // (out_channels, in_channels / groups, kh, kw)
  Tensor bias;    // (out_channels); undefined without bias

 private:
  Conv2dOptions options_;
};

// ---- MaxPool2d: x (N, C, H, W) or (C, H, W) -> (N, C, Ho, Wo) ----
struct MaxPool2dOptions {
  MaxPool2dOptions(IntOrPair kernel_size) : kernel_size_(kernel_size) {}  // NOLINT: implicit, MaxPool2d{2}
  EMBER_ARG(IntOrPair, kernel_size);
  EMBER_ARG(IntOrPair, stride) = 0;  // 0: the kernel size (PyTorch's stride=None), as core's max_pool2d
  EMBER_ARG(IntOrPair, padding) = 0;
  EMBER_ARG(IntOrPair, dilation) = 1;
  EMBER_ARG(bool, ceil_mode) = false;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const MaxPool2dOptions& options);
  explicit MaxPool2d(IntOrPair kernel_size) : MaxPool2d(MaxPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  const MaxPool2dOptions& options() const { return options_; }
  std::string name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;

 private:
  MaxPool2dOptions options_;
  IntOrPair stride_;
};

// ---- BatchNorm1d: x (N, C) or (N, C, L); BatchNorm2d: x (N, C, H, W) ----
struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT: implicit, BatchNorm2d{10}
  EMBER_ARG(int64_t, num_features);
  EMBER_ARG(double, eps) = 1e-5;
  // Weight of the newest batch in the running statistics; none means a cumulative average
  // (1 / num_batches_tracked), as PyTorch's momentum=None.
  EMBER_ARG(std::optional<double>, momentum) = 0.1;
  EMBER_ARG(bool, affine) = true;  // learnable weight (1) and bias (0)
  // Keep running_mean (0), running_var (1) and num_batches_tracked (int64, 0-d) and normalise with
  // them in eval mode; without them, eval mode normalises with the batch's statistics.
  EMBER_ARG(bool, track_running_stats) = true;
};

class BatchNormBase : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  void reset_running_stats();
  void reset_parameters();
  const BatchNormOptions& options() const { return options_; }
  std::string extra_repr() const override;

  Tensor weight, bias;                                    // (C), affine only
  Tensor running_mean, running_var, num_batches_tracked;  // (C), (C), int64 0-d; tracked only

 protected:
  BatchNormBase(const BatchNormOptions& options, const char* kind);
  virtual void check_input(const Tensor& x) const = 0;

 private:
  BatchNormOptions options_;
};

class BatchNorm1d : public BatchNormBase {
 public:
  explicit BatchNorm1d(const BatchNormOptions& options) : BatchNormBase(options, "BatchNorm1d") {}
  std::string name() const override { return "BatchNorm1d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

class BatchNorm2d : public BatchNormBase {
 public:
  explicit BatchNorm2d(const BatchNormOptions& options) : BatchNormBase(options, "BatchNorm2d") {}
  std::string name() const override { return "BatchNorm2d"; }

 protected:
  void check_input(const Tensor& x) const override;
};

// ---- activations and reshaping ----
class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override { return relu(x); }
  std::string name() const override { return "ReLU"; }
};

// Flattens dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& x) override { return x.flatten(start_dim_, end_dim_); }
  std::string name() const override { return "Flatten"; }
  std::string extra_repr() const override;

 private:
  int64_t start_dim_, end_dim_;
};

// In training, zeroes each element with probability p and scales the rest by 1 / (1 - p); identity in eval.
// Draws from `gen` when given (it must outlive the layer), else from the default generator.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Dropout(double p, Generator& gen);
  Tensor forward(const Tensor& x) override;
  double p() const { return p_; }
  std::string name() const override { return "Dropout"; }
  std::string extra_repr() const override;

 private:
  double p_;
  Generator* gen_ = nullptr;
};

}  // namespace ember::nn

// The layers beyond MNISTNet's, in their own headers.
#include "ember/nn/activation.h"
#include "ember/nn/conv_pool.h"
#include "ember/nn/loss.h"
#include "ember/nn/norm_layers.h"
