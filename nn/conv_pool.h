#pragma once
// Conv1d, AvgPool2d and AdaptiveAvgPool2d (Conv2d and MaxPool2d are in layers.h), with PyTorch's
// parameters, initialisation and printing.
#include <string>

#include "ember/core/ops.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

// ---- Conv1d: x (N, C_in, L) -> (N, C_out, Lo) ----
struct Conv1dOptions {
  Conv1dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  EMBER_ARG(int64_t, in_channels);
  EMBER_ARG(int64_t, out_channels);
  EMBER_ARG(int64_t, kernel_size);
  EMBER_ARG(int64_t, stride) = 1;
  EMBER_ARG(int64_t, padding) = 0;
  EMBER_ARG(int64_t, dilation) = 1;
  EMBER_ARG(int64_t, groups) = 1;
  EMBER_ARG(bool, bias) = true;
};

class Conv1d : public Module {
 public:
  explicit Conv1d(const Conv1dOptions& options);
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv1d(Conv1dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  // weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups * kernel_size.
  void reset_parameters();
  std::string name() const override { return "Conv1d"; }
  std::string extra_repr() const override;

  Tensor weight;  // (out_channels, in_channels / groups, kernel_size)
  Tensor bias;    // (out_channels); undefined without bias

 private:
  Conv1dOptions options_;
};

// ---- AvgPool2d: x (N, C, H, W) or (C, H, W) ----
struct AvgPool2dOptions {
  AvgPool2dOptions(IntOrPair kernel_size) : kernel_size_(kernel_size) {}  // NOLINT: implicit, AvgPool2d{2}
  EMBER_ARG(IntOrPair, kernel_size);
  EMBER_ARG(IntOrPair, stride) = 0;  // 0: the kernel size (PyTorch's stride=None)
  EMBER_ARG(IntOrPair, padding) = 0;
  EMBER_ARG(bool, ceil_mode) = false;
  EMBER_ARG(bool, count_include_pad) = true;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const AvgPool2dOptions& options);
  explicit AvgPool2d(IntOrPair kernel_size) : AvgPool2d(AvgPool2dOptions(kernel_size)) {}
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;

 private:
  AvgPool2dOptions options_;
  IntOrPair stride_;
};

// ---- AdaptiveAvgPool2d: x (N, C, H, W) or (C, H, W) -> (..., output_size) ----
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(IntOrPair output_size);
  Tensor forward(const Tensor& x) override { return adaptive_avg_pool2d(x, {output_size_.h, output_size_.w}); }
  std::string name() const override { return "AdaptiveAvgPool2d"; }
  std::string extra_repr() const override { return "output_size=" + output_size_.str(); }

 private:
  IntOrPair output_size_;
};

}  // namespace ember::nn
