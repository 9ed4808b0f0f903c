#pragma once
// Shapes: a vector of sizes, printed as PyTorch prints them in its messages: [5, 50].
#include <cstdint>
#include <string>
#include <vector>

#include "ember/core/error.h"

namespace ember {

// A (height, width) pair that also accepts a single int: conv2d(x, w, b, 2, 1), or {2, 1}.
struct IntPair {
  int64_t h = 0, w = 0;
  IntPair(int64_t v) : h(v), w(v) {}  // NOLINT: implicit on purpose
  IntPair(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};

using Shape = std::vector<int64_t>;

inline std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// The number of elements. A size of 0 anywhere makes it 0, whatever the other sizes; a count past
// what int64 holds is an error (a file's header can ask for [3892314111, 4294967167, 0]).
inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  bool overflow = false;
  for (int64_t d : s) {
    if (d == 0) return 0;
    overflow = __builtin_mul_overflow(n, d, &n) || overflow;
  }
  if (overflow) EMBER_FAIL("shape ", shape_str(s), " has more elements than an int64 can count");
  return n;
}

// Row-major strides (in elements) of a contiguous tensor of shape `s`.
inline std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t d = s.size(); d-- > 1;) st[d - 1] = st[d] * s[d];
  return st;
}

// Normalises a possibly negative dim for a tensor of rank `rank`; `op` names the caller.
inline int64_t wrap_dim(int64_t dim, int64_t rank, const char* op) {
  int64_t r = rank == 0 ? 1 : rank;
  EMBER_CHECK(dim >= -r && dim < r, op, ": dim ", dim, " out of range for a tensor of rank ", rank);
  return dim < 0 ? dim + r : dim;
}

// Numpy broadcasting of two shapes; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace ember
