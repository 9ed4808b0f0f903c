// Reductions: sum, mean, sum_to (the backward of broadcasting), max/min with indices, argmax/argmin,
// var/std and logsumexp.
#include <algorithm>
#include <limits>

#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;

Tensor detail::expand_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  Tensor out = zeros(shape, g.dtype(), g.device());
  backend(g.device()).binary(BinaryOp::Add, out, g, out);
  return out;
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  check_float(x, "sum_to", "the input");
  broadcast_shapes(shape, x.shape(), "sum_to");
  EMBER_CHECK(shape.size() <= x.shape().size(), "sum_to: cannot reduce ", shape_str(x.shape()), " to ",
              shape_str(shape));
  Tensor out = empty(shape, x.dtype(), x.device());
  backend(x.device()).sum_to(x, out);
  Shape sx = x.shape();
  return record("sum_to", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> {
    return {detail::expand_to(g, sx)};
  });
}

Tensor sum(const Tensor& x) {
  check_float(x, "sum", "the input");
  Tensor out = empty({}, x.dtype(), x.device());
  backend(x.device()).sum_to(x, out);
  if (trace::active()) trace::op("sum_all", {x}, out);
  Shape sx = x.shape();
  return record("sum", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> { return {detail::expand_to(g, sx)}; });
}

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  check_float(x, "sum", "the input");
  int64_t d = wrap_dim(dim, x.dim(), "sum");
  Shape kept = x.shape();
  if (!kept.empty()) kept[size_t(d)] = 1;
  Tensor out = empty(kept, x.dtype(), x.device());
  if (x.dim() == 0) backend(x.device()).copy_within(out.raw_data(), x.raw_data(), x.nbytes());
  else backend(x.device()).sum_dim(x, d, out);
  if (trace::active() && x.dim() > 0) trace::op("sum", {x}, out, {trace::Attr::is("axes", {d})});
  Shape sx = x.shape();
  out = record("sum", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> { return {detail::expand_to(g, sx)}; });
  return keepdim || x.dim() == 0 ? out : out.squeeze(d);
}

Tensor mean(const Tensor& x) {
  Tensor y = div(sum(x), double(std::max<int64_t>(x.numel(), 1)));
  // One op for an exporter: the count is the input's at run time, not the traced one's.
  if (trace::active()) trace::op("mean_all", {x}, y);
  return y;
}

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t d = wrap_dim(dim, x.dim(), "mean");
  int64_t n = x.dim() == 0 ? 1 : x.size(d);
  return div(sum(x, d, keepdim), double(std::max<int64_t>(n, 1)));
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  EMBER_CHECK(x.defined(), "argmax: the input is undefined");
  EMBER_CHECK(x.numel() > 0, "argmax: the input is empty (shape ", shape_str(x.shape()), ")");
  int64_t d = wrap_dim(dim, x.dim(), "argmax");
  Shape s = x.shape();
  if (!s.empty()) s.erase(s.begin() + d);
  Tensor out = empty(s, kInt64, x.device());
  backend(x.device()).argmax(x, d, out);
  if (trace::active() && x.dim() > 0)
    trace::op("argmax", {x}, out, {trace::Attr::i("axis", d), trace::Attr::i("keepdims", 0)});
  return keepdim && x.dim() > 0 ? out.unsqueeze(d) : out;
}


// ---- several dims, extremes with indices, variance, logsumexp ----
namespace {
// Wrapped, de-duplicated dims in descending order; empty means all dims (as PyTorch's dim=[]).
std::vector<int64_t> reduce_dims(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty())
    for (int64_t d = 0; d < x.dim(); ++d) out.push_back(d);
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, x.dim(), op);
    EMBER_CHECK(std::find(out.begin(), out.end(), w) == out.end(), op, ": dim ", d, " appears more than once");
    out.push_back(w);
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

Shape reduced_shape(const Tensor& x, const std::vector<int64_t>& wrapped, bool keepdim) {
  Shape s;
  for (int64_t d = 0; d < x.dim(); ++d) {
    bool r = std::find(wrapped.begin(), wrapped.end(), d) != wrapped.end();
    if (!r) s.push_back(x.size(d));
    else if (keepdim) s.push_back(1);
  }
  return s;
}

// max or min along one dim: values keep x's dtype, indices int64; both (..., 1, ...) with keepdim.
std::tuple<Tensor, Tensor> extreme(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  x.check_defined(op);
  int64_t d = wrap_dim(dim, x.dim(), op);
  Shape kept = x.shape();
  if (!kept.empty()) {
    EMBER_CHECK(kept[size_t(d)] > 0, op, ": cannot reduce over dim ", dim, " of size 0 (shape ",
                shape_str(x.shape()), ")");
    kept[size_t(d)] = 1;
  }
  Tensor values = empty(kept, x.dtype(), x.device()), indices = empty(kept, kInt64, x.device());
  backend(x.device()).minmax_dim(x, d, is_max, values, indices);
  if (trace::active() && x.dim() > 0) {  // both with the reduced dim kept; a squeeze follows
    trace::op(is_max ? "max_dim" : "min_dim", {x}, values, {trace::Attr::i("axis", d)});
    trace::op(is_max ? "argmax" : "argmin", {x}, indices, {trace::Attr::i("axis", d), trace::Attr::i("keepdims", 1)});
  }
  if (is_floating(x.dtype())) {
    Shape sx = x.shape();
    values = record(op, values, {x}, [sx, d, idx = indices](const Tensor& g) -> std::vector<Tensor> {
      Tensor gx = zeros(sx, g.dtype(), g.device());
      if (sx.empty()) return {g.reshape({})};
      backend(g.device()).scatter_add(g, d, idx, gx);
      return {gx};
    });
  }
  if (keepdim || x.dim() == 0) return {values, indices};
  return {values.squeeze(d), indices.squeeze(d)};
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_float(x, "sum", "the input");
  std::vector<int64_t> ds = reduce_dims(x, dims, "sum");
  Tensor y = x;
  for (int64_t d : ds) y = sum(y, d, true);
  return y.reshape(reduced_shape(x, ds, keepdim));
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_float(x, "mean", "the input");
  std::vector<int64_t> ds = reduce_dims(x, dims, "mean");
  int64_t n = 1;
  for (int64_t d : ds) n *= x.dim() ? x.size(d) : 1;
  return div(sum(x, dims, keepdim), double(n));  // n == 0 gives NaN, as PyTorch
}

std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extreme(x, dim, keepdim, true); }
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return extreme(x, dim, keepdim, false); }

Tensor max(const Tensor& x) {
  x.check_defined("max");
  EMBER_CHECK(x.numel() > 0, "max: expected a non-empty input, found shape ", shape_str(x.shape()));
  return std::get<0>(extreme(x.reshape({-1}), 0, false, true));
}
Tensor min(const Tensor& x) {
  x.check_defined("min");
  EMBER_CHECK(x.numel() > 0, "min: expected a non-empty input, found shape ", shape_str(x.shape()));
  return std::get<0>(extreme(x.reshape({-1}), 0, false, false));
}

Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  EMBER_CHECK(x.defined(), "argmin: the input is undefined");
  EMBER_CHECK(x.numel() > 0, "argmin: the input is empty (shape ", shape_str(x.shape()), ")");
  Tensor out = std::get<1>(extreme(x.detach(), dim, keepdim, false));
  if (trace::active() && x.dim() > 0)
    trace::op("argmin", {x}, out, {trace::Attr::i("axis", wrap_dim(dim, x.dim(), "argmin")),
                                   trace::Attr::i("keepdims", keepdim)});
  return out;
}
Tensor argmax(const Tensor& x) { return argmax(x.reshape({-1}), 0); }
Tensor argmin(const Tensor& x) { return argmin(x.reshape({-1}), 0); }

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  check_float(x, "var", "the input");
  std::vector<int64_t> ds = reduce_dims(x, dims, "var");
  int64_t n = 1;
  for (int64_t d : ds) n *= x.dim() ? x.size(d) : 1;
  Tensor centred = sub(x, mean(x, dims, true));
  // n - correction <= 0 divides by zero or less: inf or NaN, as PyTorch.
  return div(sum(mul(centred, centred), dims, keepdim), std::max(0.0, double(n) - correction));
}

Tensor std(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_float(x, "logsumexp", "the input");
  std::vector<int64_t> ds = reduce_dims(x, dims, "logsumexp");
  // Shift by the (constant) maximum so exp never overflows; an infinite maximum shifts by 0.
  Tensor m = x.detach();
  for (int64_t d : ds)
    if (x.numel() > 0) m = std::get<0>(extreme(m, d, true, true));
  if (x.numel() == 0) m = zeros(reduced_shape(x, ds, true), x.dtype(), x.device());
  m = where(eq(abs(m), std::numeric_limits<double>::infinity()), 0.0, m);
  Tensor y = add(log(sum(exp(sub(x, m)), dims, true)), m);
  return y.reshape(reduced_shape(x, ds, keepdim));
}

}  // namespace ember
