// layer_norm, group_norm and embedding, composed from the general ops (so their backward is the
// composition's, checked by gradcheck).
#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;

namespace {
// weight * y + bias with weight and bias reshaped to `shape` (for broadcasting against y).
Tensor affine(Tensor y, const Tensor& weight, const Tensor& bias, const Shape& shape) {
  if (weight.defined()) y = mul(y, weight.reshape(shape));
  if (bias.defined()) y = add(y, bias.reshape(shape));
  return y;
}

void check_param(const Tensor& t, const Tensor& x, const Shape& expected, const char* op, const char* what) {
  if (!t.defined()) return;
  check_float(t, op, what);
  check_same(x, t, op, "the input", what);
  EMBER_CHECK(t.shape() == expected, op, ": expected ", what, " of shape ", shape_str(expected), ", found ",
              shape_str(t.shape()));
}

// (x - mean) / sqrt(var + eps) over `dims` (population variance, as the norm layers use).
Tensor normalize(const Tensor& x, const std::vector<int64_t>& dims, double eps) {
  Tensor centred = sub(x, mean(x, dims, true));
  Tensor v = mean(mul(centred, centred), dims, true);
  return div(centred, sqrt(add(v, eps)));
}
}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  check_float(x, "layer_norm", "the input");
  size_t k = normalized_shape.size();
  bool ok = k >= 1 && k <= size_t(x.dim());
  for (size_t i = 0; ok && i < k; ++i) ok = x.shape()[x.shape().size() - k + i] == normalized_shape[i];
  EMBER_CHECK(ok, "layer_norm: expected an input of shape [*, ", shape_str(normalized_shape).substr(1),
              " (ending in normalized_shape), found ", shape_str(x.shape()));
  check_param(weight, x, normalized_shape, "layer_norm", "weight");
  check_param(bias, x, normalized_shape, "layer_norm", "bias");
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - int64_t(k); d < x.dim(); ++d) dims.push_back(d);
  Tensor y = affine(normalize(x, dims, eps), weight, bias, normalized_shape);
  if (trace::active())
    trace::op("layer_norm", {x, weight, bias}, y,
              {trace::Attr::i("axis", x.dim() - int64_t(k)), trace::Attr::fl("epsilon", eps)});
  return y;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  check_float(x, "group_norm", "the input");
  EMBER_CHECK(x.dim() >= 2, "group_norm: expected an input of shape (N, C, *), found ", shape_str(x.shape()));
  int64_t C = x.size(1);
  EMBER_CHECK(num_groups > 0 && C % num_groups == 0, "group_norm: expected num_groups to divide the ", C,
              " channels of the input ", shape_str(x.shape()), ", found num_groups ", num_groups);
  check_param(weight, x, {C}, "group_norm", "weight");
  check_param(bias, x, {C}, "group_norm", "bias");
  Tensor y = normalize(x.reshape({x.size(0), num_groups, -1}), {2}, eps).reshape(x.shape());
  Shape per_channel(size_t(x.dim() - 1), 1);
  per_channel[0] = C;  // (C, 1, ..., 1): broadcasts over the spatial dims
  return affine(y, weight, bias, per_channel);
}

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  input.check_defined("embedding");
  check_float(weight, "embedding", "weight");
  EMBER_CHECK(input.dtype() == kInt64, "embedding: expected an int64 input (indices), found ",
              dtype_name(input.dtype()));
  EMBER_CHECK(weight.dim() == 2, "embedding: expected a 2-D weight (num_embeddings, embedding_dim), found ",
              shape_str(weight.shape()));
  int64_t V = weight.size(0);
  int64_t pad = -1;
  if (padding_idx) {
    EMBER_CHECK(*padding_idx >= -V && *padding_idx < V, "embedding: padding_idx ", *padding_idx,
                " out of range for ", V, " embeddings");
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }
  Tensor flat = input.detach().reshape({-1});
  Tensor rows = empty({flat.numel(), weight.size(1)}, weight.dtype(), weight.device());
  backend(weight.device()).index_select(weight, 0, flat, rows);
  Shape s = input.shape();
  s.push_back(weight.size(1));
  rows = record("embedding", rows, {weight}, [flat, pad, sw = weight.shape()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gw = zeros(sw, g.dtype(), g.device());
    backend(g.device()).index_add(g, 0, flat, gw);
    if (pad >= 0) gw.slice(pad, pad + 1).zero_();  // a view: zeroes that row in place
    return {gw};
  });
  Tensor y = rows.reshape(s);
  // padding_idx changes only the gradient: the exporter needs the indices and the weight.
  if (trace::active()) trace::op("embedding", {input, weight}, y);
  return y;
}

}  // namespace ember
