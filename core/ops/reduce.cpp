// Reductions: sum, mean, sum_to (the backward of broadcasting), argmax.
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
  Shape sx = x.shape();
  out = record("sum", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> { return {detail::expand_to(g, sx)}; });
  return keepdim || x.dim() == 0 ? out : out.squeeze(d);
}

Tensor mean(const Tensor& x) { return div(sum(x), double(std::max<int64_t>(x.numel(), 1))); }

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  int64_t d = wrap_dim(dim, x.dim(), "mean");
  int64_t n = x.dim() == 0 ? 1 : x.size(d);
  return div(sum(x, d, keepdim), double(std::max<int64_t>(n, 1)));
}

Tensor argmax(const Tensor& x, int64_t dim) {
  EMBER_CHECK(x.defined(), "argmax: the input is undefined");
  EMBER_CHECK(x.numel() > 0, "argmax: the input is empty (shape ", shape_str(x.shape()), ")");
  int64_t d = wrap_dim(dim, x.dim(), "argmax");
  Shape s = x.shape();
  if (!s.empty()) s.erase(s.begin() + d);
  Tensor out = empty(s, kInt64, x.device());
  backend(x.device()).argmax(x, d, out);
  return out;
}

}  // namespace ember
