#pragma once
// Small checks shared by the op families.
#include "ember/core/backend.h"
#include "ember/core/ops.h"
#include "ember/core/trace.h"

namespace ember::detail {

// Throws unless t is defined and of a floating dtype; `op` and `what` name it ("conv2d", "weight").
inline void check_float(const Tensor& t, const char* op, const char* what) {
  EMBER_CHECK(t.defined(), op, ": ", what, " is undefined");
  EMBER_CHECK(is_floating(t.dtype()), op, ": expected ", what, " to be float32 or float64, found ",
              dtype_name(t.dtype()));
}

// Throws unless a and b share dtype and device.
inline void check_same(const Tensor& a, const Tensor& b, const char* op, const char* what_a, const char* what_b) {
  EMBER_CHECK(a.dtype() == b.dtype(), op, ": ", what_a, " is ", dtype_name(a.dtype()), " but ", what_b, " is ",
              dtype_name(b.dtype()));
  EMBER_CHECK(a.device() == b.device(), op, ": ", what_a, " is on ", a.device().str(), " but ", what_b, " is on ",
              b.device().str());
}

// nll_loss over (N, K) rows, mean reduction, every target in [0, K): the fused kernel pair.
Tensor nll_loss_fused(const Tensor& log_probs, const Tensor& target);

// For trace attributes: (h, w) pairs as lists, padding as ONNX's (top, left, bottom, right).
inline std::vector<int64_t> pair_list(IntPair p) { return {p.h, p.w}; }
inline std::vector<int64_t> pads_list(IntPair p) { return {p.h, p.w, p.h, p.w}; }

// g broadcast up to `shape` (the backward of a reduction).
Tensor expand_to(const Tensor& g, const Shape& shape);

}  // namespace ember::detail
