#include "ember/nn/containers.h"

namespace ember::nn {

Module& IndexedModules::operator[](size_t i) const {
  EMBER_CHECK(i < items_.size(), name(), ": index ", i, " out of range for ", items_.size(),
              items_.size() == 1 ? " module" : " modules");
  return *items_[i];
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (Module& m : *this) y = m(y);
  return y;
}

}  // namespace ember::nn
