// Reductions. Sums accumulate in double so float32 results do not depend on the size of the input.
#include <vector>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/cpu/iterate.h"

namespace ember {

using cpu::split_at;

void CpuBackend::sum_to(const Tensor& x, Tensor& out) {
  dispatch_floating(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    const Shape& sx = x.shape();
    const Shape& so = out.shape();
    size_t nd = sx.size();
    // out's strides laid against x's dims (0 where out is broadcast).
    std::vector<int64_t> st(nd, 0);
    int64_t stride = 1;
    for (size_t k = 0; k < so.size(); ++k) {
      size_t i = so.size() - 1 - k, j = nd - 1 - k;
      st[j] = so[i] == 1 ? 0 : stride;
      stride *= so[i];
    }
    std::vector<double> acc(size_t(out.numel()), 0.0);
    int64_t inner = nd ? sx[nd - 1] : 1;
    int64_t outer = inner ? x.numel() / inner : 0;
    int64_t step = nd ? st[nd - 1] : 0;
    for (int64_t r = 0; r < outer; ++r) {
      int64_t base = 0, rem = r;
      for (size_t d = nd ? nd - 1 : 0; d-- > 0;) {
        base += (rem % sx[d]) * st[d];
        rem /= sx[d];
      }
      const T* row = px + r * inner;
      if (step == 0) {
        double s = 0;
        for (int64_t i = 0; i < inner; ++i) s += double(row[i]);
        acc[size_t(base)] += s;
      } else {
        for (int64_t i = 0; i < inner; ++i) acc[size_t(base + i)] += double(row[i]);
      }
    }
    for (size_t i = 0; i < acc.size(); ++i) po[i] = T(acc[i]);
  });
}

void CpuBackend::sum_dim(const Tensor& x, int64_t dim, Tensor& out) {
  dispatch_floating(x.dtype(), "sum", [&](auto tag) {
    using T = decltype(tag);
    int64_t outer, n, inner;
    split_at(x.shape(), dim, outer, n, inner);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    std::vector<double> acc(static_cast<size_t>(inner));
    for (int64_t o = 0; o < outer; ++o) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = 0; k < n; ++k) {
        const T* row = px + (o * n + k) * inner;
        for (int64_t i = 0; i < inner; ++i) acc[size_t(i)] += double(row[i]);
      }
      for (int64_t i = 0; i < inner; ++i) po[o * inner + i] = T(acc[size_t(i)]);
    }
  });
}

void CpuBackend::argmax(const Tensor& x, int64_t dim, Tensor& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    int64_t outer, n, inner;
    split_at(x.shape(), dim, outer, n, inner);
    const T* px = static_cast<const T*>(x.raw_data());
    int64_t* po = static_cast<int64_t*>(out.raw_data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) po[o * inner + i] = cpu::extreme_index(px + o * n * inner + i, n, inner, true);
  });
}

}  // namespace ember
