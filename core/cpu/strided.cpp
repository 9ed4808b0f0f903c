// Strided copies (transpose, permute, narrow, cat, expand), broadcasting binary ops on any dtype,
// comparisons and where.
#include <cmath>
#include <cstring>

#include "ember/core/cpu/cpu_backend.h"
#include "ember/core/cpu/iterate.h"

namespace ember {

using cpu::broadcast_strides;
using cpu::strided_loop;

void CpuBackend::strided_copy(const Tensor& src, const StridedView& from, Tensor& dst, const StridedView& to) {
  EMBER_CHECK(src.dtype() == dst.dtype() && from.shape == to.shape, "strided_copy: mismatched views");
  // Copies element bytes: the dtype only matters through its size.
  auto run = [&](auto tag) {
    using U = decltype(tag);
    const U* s = static_cast<const U*>(src.raw_data());
    U* d = static_cast<U*>(dst.raw_data());
    strided_loop<2>(from.shape, {from.strides, to.strides}, {from.offset, to.offset},
                    [&](const std::array<int64_t, 2>& o) { d[o[1]] = s[o[0]]; });
  };
  switch (dtype_size(src.dtype())) {
    case 1: return run(uint8_t{});
    case 4: return run(uint32_t{});
    case 8: return run(uint64_t{});
    default: EMBER_FAIL("strided_copy: unsupported element size ", dtype_size(src.dtype()));
  }
}

namespace {
template <class T>
T int_pow(T base, T e) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::pow(base, e);
  } else {
    EMBER_CHECK(e >= 0, "pow: integers to negative integer powers are not allowed (exponent ", int64_t(e), ")");
    T r = 1;
    for (; e > 0; --e) r = T(r * base);
    return r;
  }
}

template <class T>
T arith(BinaryExtOp op, T a, T b) {
  switch (op) {
    case BinaryExtOp::Add: return T(a + b);
    case BinaryExtOp::Sub: return T(a - b);
    case BinaryExtOp::Mul: return T(a * b);
    case BinaryExtOp::Div:
      if constexpr (!std::is_floating_point_v<T>) EMBER_CHECK(b != 0, "div: integer division by zero");
      return T(a / b);
    case BinaryExtOp::Pow: return int_pow(a, b);
    // NaN propagates, as torch.maximum / torch.minimum.
    case BinaryExtOp::Maximum: return a != a || b != b ? (a != a ? a : b) : (a > b ? a : b);
    case BinaryExtOp::Minimum: return a != a || b != b ? (a != a ? a : b) : (a < b ? a : b);
    default: return T(0);
  }
}

bool compare(BinaryExtOp op, double a, double b) {
  switch (op) {
    case BinaryExtOp::Eq: return a == b;
    case BinaryExtOp::Ne: return a != b;
    case BinaryExtOp::Lt: return a < b;
    case BinaryExtOp::Le: return a <= b;
    case BinaryExtOp::Gt: return a > b;
    case BinaryExtOp::Ge: return a >= b;
    default: return false;
  }
}
}  // namespace

void CpuBackend::binary_ext(BinaryExtOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const Shape& so = out.shape();
  std::array<std::vector<int64_t>, 3> st{broadcast_strides(a.shape(), so), broadcast_strides(b.shape(), so),
                                         cpu::contiguous_strides(so)};
  bool cmp = op >= BinaryExtOp::Eq;
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    if (cmp) {
      bool* po = static_cast<bool*>(out.raw_data());
      strided_loop<3>(so, st, {0, 0, 0}, [&](const std::array<int64_t, 3>& o) {
        po[o[2]] = compare(op, double(pa[o[0]]), double(pb[o[1]]));
      });
    } else if constexpr (std::is_same_v<T, bool>) {
      EMBER_FAIL(binary_ext_name(op), ": arithmetic on bool tensors is not supported");
    } else {
      T* po = static_cast<T*>(out.raw_data());
      strided_loop<3>(so, st, {0, 0, 0},
                      [&](const std::array<int64_t, 3>& o) { po[o[2]] = arith(op, pa[o[0]], pb[o[1]]); });
    }
  });
}

void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  const Shape& so = out.shape();
  std::array<std::vector<int64_t>, 4> st{broadcast_strides(cond.shape(), so), broadcast_strides(a.shape(), so),
                                         broadcast_strides(b.shape(), so), cpu::contiguous_strides(so)};
  const bool* pc = static_cast<const bool*>(cond.raw_data());
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.raw_data());
    const T* pb = static_cast<const T*>(b.raw_data());
    T* po = static_cast<T*>(out.raw_data());
    strided_loop<4>(so, st, {0, 0, 0, 0},
                    [&](const std::array<int64_t, 4>& o) { po[o[3]] = pc[o[0]] ? pa[o[1]] : pb[o[2]]; });
  });
}

}  // namespace ember
