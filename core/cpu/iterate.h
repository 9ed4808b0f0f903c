#pragma once
// Loops over an n-d shape with several strided operands, for the CPU kernels that broadcast,
// transpose or index: each operand is a stride per dim (0 where it is broadcast) and a start offset.
#include <array>
#include <vector>

#include "ember/core/shape.h"

namespace ember::cpu {

using ember::contiguous_strides;

// Strides of `s` right-aligned to `out`, 0 on broadcast dims (numpy rules).
inline std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  int64_t stride = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    size_t i = s.size() - 1 - k, j = out.size() - 1 - k;
    st[j] = s[i] == 1 ? 0 : stride;
    stride *= s[i];
  }
  return st;
}

// Calls f(offsets) for every element of `shape` in row-major order, where offsets[k] is operand
// k's element offset: off[k] + sum_d i_d * strides[k][d].
template <size_t K, class F>
void strided_loop(const Shape& shape, const std::array<std::vector<int64_t>, K>& strides,
                  std::array<int64_t, K> off, F f) {
  if (shape_numel(shape) == 0) return;
  size_t nd = shape.size();
  if (nd == 0) {
    f(off);
    return;
  }
  std::vector<int64_t> idx(nd, 0);
  int64_t inner = shape[nd - 1];
  for (;;) {
    std::array<int64_t, K> o = off;
    for (int64_t i = 0; i < inner; ++i) {
      f(o);
      for (size_t k = 0; k < K; ++k) o[k] += strides[k][nd - 1];
    }
    size_t d = nd - 1;
    for (;;) {  // advance the odometer over dims nd-2 .. 0
      if (d == 0) return;
      --d;
      ++idx[d];
      for (size_t k = 0; k < K; ++k) off[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

// The index of the first maximum (or minimum) of row[0], row[inner], ... row[(n - 1) * inner]; a NaN
// is the extreme, the first one wins (PyTorch's rule for max, min, argmax and argmin).
template <class T>
int64_t extreme_index(const T* row, int64_t n, int64_t inner, bool is_max) {
  int64_t best = 0;
  for (int64_t j = 1; j < n; ++j) {
    T v = row[j * inner], b = row[best * inner];
    if (b != b) break;
    if (v != v || (is_max ? v > b : v < b)) best = j;
  }
  return best;
}

// (outer, n, inner) around `dim`.
inline void split_at(const Shape& s, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= s[size_t(d)];
  n = s.empty() ? 1 : s[size_t(dim)];
  for (size_t d = size_t(dim) + 1; d < s.size(); ++d) inner *= s[d];
}

}  // namespace ember::cpu
