// Indexing kernels: max/min along a dim with indices, index_select / index_add, gather / scatter_add.
// Index tensors are int64 and checked against the size they index; an index out of range throws.
#include <cstring>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/cpu/iterate.h"

namespace ember {

using cpu::split_at;

namespace {
inline int64_t checked_index(int64_t i, int64_t n, const char* op) {
  EMBER_CHECK(i >= 0 && i < n, op, ": index ", i, " is out of bounds for a dimension of size ", n);
  return i;
}
}  // namespace

void CpuBackend::minmax_dim(const Tensor& x, int64_t dim, bool is_max, Tensor& values, Tensor& indices) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    int64_t outer, n, inner;
    split_at(x.shape(), dim, outer, n, inner);
    const T* px = static_cast<const T*>(x.raw_data());
    T* pv = static_cast<T*>(values.raw_data());
    int64_t* pi = indices.data<int64_t>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k) {
        const T* row = px + o * n * inner + k;
        const int64_t best = cpu::extreme_index(row, n, inner, is_max);
        pv[o * inner + k] = row[best * inner];
        pi[o * inner + k] = best;
      }
  });
}

void CpuBackend::index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  int64_t outer, n, inner;
  split_at(x.shape(), dim, outer, n, inner);
  const int64_t* idx = index.data<int64_t>();
  int64_t k = index.numel();
  for (int64_t j = 0; j < k; ++j) checked_index(idx[j], n, "index_select");
  size_t es = dtype_size(x.dtype());
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < k; ++j)
      std::memcpy(po + size_t((o * k + j) * inner) * es, px + size_t((o * n + idx[j]) * inner) * es,
                  size_t(inner) * es);
}

void CpuBackend::index_add(const Tensor& src, int64_t dim, const Tensor& index, Tensor& out) {
  int64_t outer, n, inner;
  split_at(out.shape(), dim, outer, n, inner);
  const int64_t* idx = index.data<int64_t>();
  int64_t k = index.numel();
  for (int64_t j = 0; j < k; ++j) checked_index(idx[j], n, "index_add");
  dispatch_floating(out.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    const T* ps = static_cast<const T*>(src.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < k; ++j) {
        const T* s = ps + (o * k + j) * inner;
        T* d = po + (o * n + idx[j]) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += s[i];
      }
  });
}

namespace {
// Calls f(index offset, offset in x of the same position with dim's coordinate at 0, x's stride
// along dim) for every position of `index`; x is contiguous, of the same rank as index.
template <class F>
void for_each_gather(const Shape& xs, const Tensor& index, int64_t dim, F f) {
  std::vector<int64_t> sx = cpu::contiguous_strides(xs);
  int64_t step = sx[size_t(dim)];
  sx[size_t(dim)] = 0;
  cpu::strided_loop<2>(index.shape(), {cpu::contiguous_strides(index.shape()), sx}, {0, 0},
                       [&](const std::array<int64_t, 2>& o) { f(o[0], o[1], step); });
}
}  // namespace

void CpuBackend::gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  const int64_t* idx = index.data<int64_t>();
  int64_t n = x.shape()[size_t(dim)];
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    for_each_gather(x.shape(), index, dim, [&](int64_t io, int64_t xo, int64_t step) {
      po[io] = px[xo + checked_index(idx[io], n, "gather") * step];
    });
  });
}

void CpuBackend::scatter_add(const Tensor& src, int64_t dim, const Tensor& index, Tensor& out) {
  const int64_t* idx = index.data<int64_t>();
  int64_t n = out.shape()[size_t(dim)];
  dispatch_floating(out.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    const T* ps = static_cast<const T*>(src.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    for_each_gather(out.shape(), index, dim, [&](int64_t io, int64_t xo, int64_t step) {
      po[xo + checked_index(idx[io], n, "scatter_add") * step] += ps[io];
    });
  });
}

}  // namespace ember
