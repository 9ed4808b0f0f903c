#pragma once
// What nn's option structs share: IntOrPair (EMBER_ARG itself is in core/options.h).
#include <cstdint>
#include <string>

#include "ember/core/options.h"

namespace ember::nn {

// A size given as one int or as an (h, w) pair; remembers which, because PyTorch prints
// MaxPool2d(kernel_size=2) and MaxPool2d(kernel_size=(2, 3)) differently.
struct IntOrPair {
  int64_t h = 0, w = 0;
  bool is_pair = false;
  IntOrPair(int64_t v) : h(v), w(v) {}  // NOLINT: implicit on purpose, as IntPair
  IntOrPair(int64_t h_, int64_t w_) : h(h_), w(w_), is_pair(true) {}
  bool operator==(const IntOrPair& o) const { return h == o.h && w == o.w; }
  // "2" or "(2, 3)".
  std::string str() const { return is_pair ? pair_str() : std::to_string(h); }
  // Always "(h, w)", as Conv2d prints its sizes. (Appended piecewise: GCC 12 warns falsely on "(" + s.)
  std::string pair_str() const {
    std::string out = "(";
    out.append(std::to_string(h)).append(", ").append(std::to_string(w)).append(")");
    return out;
  }
};

// A double as Python's repr() writes it (0.1, 1e-05, 1.0, 1e+16), for module printing.
std::string py_float(double v);
using ember::short_float;  // core/options.h

}  // namespace ember::nn
