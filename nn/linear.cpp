#include <cmath>

#include "ember/core/autograd.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"

namespace ember::nn {

Linear::Linear(const LinearOptions& options) : options_(options) {
  EMBER_CHECK(options.in_features() > 0, "Linear: in_features must be positive, found ", options.in_features());
  EMBER_CHECK(options.out_features() > 0, "Linear: out_features must be positive, found ", options.out_features());
  weight = register_parameter("weight", empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_features()}));
  reset_parameters();
}

void Linear::reset_parameters() {
  // PyTorch's order: weight, then bias, from the same generator.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    double bound = 1.0 / std::sqrt(double(options_.in_features()));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  x.check_defined("Linear");
  int64_t in = options_.in_features();
  EMBER_CHECK(x.dim() >= 1 && x.size(-1) == in, "Linear: expected input with last dimension ", in,
              " (in_features), found shape ", shape_str(x.shape()));
  if (x.dim() == 2) return linear(x, weight, bias);
  // (*, in) -> (prod(*), in) -> (prod(*), out) -> (*, out)
  Shape out_shape = x.shape();
  out_shape.back() = options_.out_features();
  return linear(x.reshape({-1, in}), weight, bias).reshape(out_shape);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(options_.in_features()) +
         ", out_features=" + std::to_string(options_.out_features()) + ", bias=" + (bias.defined() ? "True" : "False");
}

}  // namespace ember::nn
