// Flatten, Dropout and Sequential.
#include "ember/nn/layers.h"

namespace ember::nn {

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim_) + ", end_dim=" + std::to_string(end_dim_);
}

static double checked_p(double p) {
  EMBER_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", short_float(p));
  return p;
}

Dropout::Dropout(double p) : p_(checked_p(p)) {}
Dropout::Dropout(double p, Generator& gen) : p_(checked_p(p)), gen_(&gen) {}

Tensor Dropout::forward(const Tensor& x) {
  return dropout(x, p_, is_training(), gen_ ? *gen_ : default_generator());
}

std::string Dropout::extra_repr() const { return "p=" + py_float(p_) + ", inplace=False"; }


}  // namespace ember::nn
