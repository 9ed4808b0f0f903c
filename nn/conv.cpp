// Conv2d, MaxPool2d, Conv1d, AvgPool2d and AdaptiveAvgPool2d.
#include <cmath>

#include "ember/nn/init.h"
#include "ember/nn/layers.h"

namespace ember::nn {

static IntPair to_pair(const IntOrPair& p) { return IntPair(p.h, p.w); }

Conv2d::Conv2d(const Conv2dOptions& o) : options_(o) {
  EMBER_CHECK(o.in_channels() > 0, "Conv2d: in_channels must be positive, found ", o.in_channels());
  EMBER_CHECK(o.out_channels() > 0, "Conv2d: out_channels must be positive, found ", o.out_channels());
  EMBER_CHECK(o.kernel_size().h > 0 && o.kernel_size().w > 0, "Conv2d: kernel_size must be positive, found ",
              o.kernel_size().pair_str());
  EMBER_CHECK(o.stride().h > 0 && o.stride().w > 0, "Conv2d: stride must be positive, found ", o.stride().pair_str());
  EMBER_CHECK(o.padding().h >= 0 && o.padding().w >= 0, "Conv2d: padding must be non-negative, found ",
              o.padding().pair_str());
  EMBER_CHECK(o.dilation().h > 0 && o.dilation().w > 0, "Conv2d: dilation must be positive, found ",
              o.dilation().pair_str());
  EMBER_CHECK(o.groups() > 0 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
              "Conv2d: in_channels (", o.in_channels(), ") and out_channels (", o.out_channels(),
              ") must be divisible by groups, found groups ", o.groups());
  weight = register_parameter(
      "weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size().h, o.kernel_size().w}));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_channels()}));
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(weight);
    double bound = 1.0 / std::sqrt(double(fan_in));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  x.check_defined("Conv2d");
  EMBER_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels(), "Conv2d: expected input of shape (N, ",
              options_.in_channels(), ", H, W), found ", shape_str(x.shape()));
  return conv2d(x, weight, bias, to_pair(options_.stride()), to_pair(options_.padding()),
                to_pair(options_.dilation()), options_.groups());
}

std::string Conv2d::extra_repr() const {
  const auto& o = options_;
  std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                  ", kernel_size=" + o.kernel_size().pair_str() + ", stride=" + o.stride().pair_str();
  if (o.padding().h != 0 || o.padding().w != 0) s += ", padding=" + o.padding().pair_str();
  if (o.dilation().h != 1 || o.dilation().w != 1) s += ", dilation=" + o.dilation().pair_str();
  if (o.groups() != 1) s += ", groups=" + std::to_string(o.groups());
  if (!bias.defined()) s += ", bias=False";
  return s;
}

MaxPool2d::MaxPool2d(const MaxPool2dOptions& o)
    : options_(o), stride_(o.stride() == IntOrPair(0) ? o.kernel_size() : o.stride()) {
  const IntOrPair& k = o.kernel_size();
  EMBER_CHECK(k.h > 0 && k.w > 0, "MaxPool2d: kernel_size must be positive, found ", k.str());
  EMBER_CHECK(stride_.h > 0 && stride_.w > 0, "MaxPool2d: stride must be positive, found ", stride_.str());
  const IntOrPair& p = o.padding();
  EMBER_CHECK(p.h >= 0 && p.w >= 0 && p.h <= k.h / 2 && p.w <= k.w / 2,
              "MaxPool2d: pad should be at most half of kernel size, but got pad=", p.str(), " and kernel_size=",
              k.str());
}

Tensor MaxPool2d::forward(const Tensor& x) {
  x.check_defined("MaxPool2d");
  EMBER_CHECK(x.dim() == 4 || x.dim() == 3, "MaxPool2d: expected input of shape (N, C, H, W) or (C, H, W), found ",
              shape_str(x.shape()));
  return max_pool2d(x, to_pair(options_.kernel_size()), to_pair(stride_), to_pair(options_.padding()),
                    to_pair(options_.dilation()), options_.ceil_mode());
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + options_.kernel_size().str() + ", stride=" + stride_.str() +
         ", padding=" + options_.padding().str() + ", dilation=" + options_.dilation().str() +
         ", ceil_mode=" + (options_.ceil_mode() ? "True" : "False");
}

Conv1d::Conv1d(const Conv1dOptions& o) : options_(o) {
  EMBER_CHECK(o.in_channels() > 0 && o.out_channels() > 0, "Conv1d: channels must be positive, found ",
              o.in_channels(), " and ", o.out_channels());
  EMBER_CHECK(o.kernel_size() > 0 && o.stride() > 0 && o.dilation() > 0 && o.padding() >= 0,
              "Conv1d: kernel_size, stride and dilation must be positive and padding non-negative, found ",
              o.kernel_size(), ", ", o.stride(), ", ", o.dilation(), " and ", o.padding());
  EMBER_CHECK(o.groups() > 0 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0,
              "Conv1d: in_channels (", o.in_channels(), ") and out_channels (", o.out_channels(),
              ") must be divisible by groups, found groups ", o.groups());
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size()}));
  if (o.bias()) bias = register_parameter("bias", empty({o.out_channels()}));
  reset_parameters();
}

void Conv1d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(weight);
    double bound = 1.0 / std::sqrt(double(fan_in));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv1d::forward(const Tensor& x) {
  x.check_defined("Conv1d");
  EMBER_CHECK(x.dim() == 3 && x.size(1) == options_.in_channels(), "Conv1d: expected input of shape (N, ",
              options_.in_channels(), ", L), found ", shape_str(x.shape()));
  const auto& o = options_;
  return conv1d(x, weight, bias, o.stride(), o.padding(), o.dilation(), o.groups());
}

std::string Conv1d::extra_repr() const {
  const auto& o = options_;
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on "(" + std::string.
  auto one = [](int64_t v) {
    std::string s = "(";
    s += std::to_string(v);
    s += ",)";
    return s;
  };
  std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                  ", kernel_size=" + one(o.kernel_size()) + ", stride=" + one(o.stride());
  if (o.padding() != 0) s += ", padding=" + one(o.padding());
  if (o.dilation() != 1) s += ", dilation=" + one(o.dilation());
  if (o.groups() != 1) s += ", groups=" + std::to_string(o.groups());
  if (!bias.defined()) s += ", bias=False";
  return s;
}

AvgPool2d::AvgPool2d(const AvgPool2dOptions& o)
    : options_(o), stride_(o.stride() == IntOrPair(0) ? o.kernel_size() : o.stride()) {
  const IntOrPair& k = o.kernel_size();
  EMBER_CHECK(k.h > 0 && k.w > 0, "AvgPool2d: kernel_size must be positive, found ", k.str());
  EMBER_CHECK(stride_.h > 0 && stride_.w > 0, "AvgPool2d: stride must be positive, found ", stride_.str());
  const IntOrPair& p = o.padding();
  EMBER_CHECK(p.h >= 0 && p.w >= 0 && p.h <= k.h / 2 && p.w <= k.w / 2,
              "AvgPool2d: pad should be at most half of kernel size, but got pad=", p.str(), " and kernel_size=",
              k.str());
}

Tensor AvgPool2d::forward(const Tensor& x) {
  const auto& o = options_;
  return avg_pool2d(x, to_pair(o.kernel_size()), to_pair(stride_), to_pair(o.padding()), o.ceil_mode(),
                    o.count_include_pad());
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + options_.kernel_size().str() + ", stride=" + stride_.str() +
         ", padding=" + options_.padding().str();
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(IntOrPair output_size) : output_size_(output_size) {
  EMBER_CHECK(output_size.h > 0 && output_size.w > 0, "AdaptiveAvgPool2d: output_size must be positive, found ",
              output_size.str());
}

}  // namespace ember::nn
