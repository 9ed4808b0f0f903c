#pragma once
// EMBER_ARG: one option of an options struct, with a chained setter and a getter, as PyTorch's
// TORCH_ARG: `Conv2dOptions(1, 10, 5).stride(2).padding(1)` and `opts.stride()`. Every layer
// (nn's modules, optim's optimizers, data's loaders) writes its options with it.
#include <charconv>
#include <string>

namespace ember {
// A double in the shortest form that reads back exactly (0.1, 1e-05, -1), for the messages of
// option checks: "Invalid learning rate: -0.1".
inline std::string short_float(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}
}  // namespace ember

#define EMBER_ARG(T, name)                  \
 public:                                    \
  auto& name(const T& new_value) {          \
    name##_ = new_value;                    \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 private:                                   \
  T name##_
