// Conv2d and MaxPool2d.
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
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels(), o.kernel_size().h, o.kernel_size().w}));
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
  return conv2d(x, weight, bias, to_pair(options_.stride()), to_pair(options_.padding()));
}

std::string Conv2d::extra_repr() const {
  const auto& o = options_;
  std::string s = std::to_string(o.in_channels()) + ", " + std::to_string(o.out_channels()) +
                  ", kernel_size=" + o.kernel_size().pair_str() + ", stride=" + o.stride().pair_str();
  if (o.padding().h != 0 || o.padding().w != 0) s += ", padding=" + o.padding().pair_str();
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
  EMBER_CHECK(x.dim() == 4, "MaxPool2d: expected input of shape (N, C, H, W), found ", shape_str(x.shape()));
  return max_pool2d(x, to_pair(options_.kernel_size()), to_pair(stride_), to_pair(options_.padding()));
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + options_.kernel_size().str() + ", stride=" + stride_.str() +
         ", padding=" + options_.padding().str() + ", dilation=1, ceil_mode=False";
}

}  // namespace ember::nn
