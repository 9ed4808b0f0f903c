// conv2d with dilation and groups, conv1d, max_pool2d with dilation and ceil_mode, avg_pool2d and
// adaptive_avg_pool2d. The plain cases (dilation 1, groups 1, floor mode) go to the MNISTNet kernels
// of core/ops/conv.cpp and core/ops/pool.cpp; the rest run through im2col (as torch's unfold) and
// batched matrix products, or through the general window kernels.
#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;
using detail::pads_list;
using detail::pair_list;

namespace {
std::string pair_str(IntPair p) { return shape_str({p.h, p.w}); }

void check_window(const char* op, IntPair kernel, IntPair stride, IntPair padding, IntPair dilation) {
  EMBER_CHECK(kernel.h > 0 && kernel.w > 0, op, ": expected a positive kernel size, found ", pair_str(kernel));
  EMBER_CHECK(stride.h > 0 && stride.w > 0, op, ": expected a positive stride, found ", pair_str(stride));
  EMBER_CHECK(padding.h >= 0 && padding.w >= 0, op, ": expected a non-negative padding, found ", pair_str(padding));
  EMBER_CHECK(dilation.h > 0 && dilation.w > 0, op, ": expected a positive dilation, found ", pair_str(dilation));
}

// PyTorch's pooling output size: ceil mode may add a last window, if it starts inside the input
// or the left padding.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  int64_t span = in + 2 * p - d * (k - 1) - 1;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// x: (N, C, H, W) -> (N, C * kh * kw, Ho * Wo), with its adjoint (col2im) as the backward.
Tensor unfold(const Tensor& x, const Window2dArgs& a, int64_t ho, int64_t wo) {
  Tensor cols = empty({x.size(0), x.size(1) * a.kernel.h * a.kernel.w, ho * wo}, x.dtype(), x.device());
  backend(x.device()).im2col(x, a, cols);
  return record("unfold", cols, {x}, [a, sx = x.shape()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = empty(sx, g.dtype(), g.device());
    backend(g.device()).col2im(g, a, gx);
    return {gx};
  });
}

// Brings a (C, H, W) input to (1, C, H, W); `batched` says whether to drop that dim again.
Tensor batched4(const Tensor& x, const char* op, bool& batched) {
  check_float(x, op, "the input");
  EMBER_CHECK(x.dim() == 3 || x.dim() == 4, op, ": expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, found ",
              shape_str(x.shape()));
  batched = x.dim() == 4;
  return batched ? x : x.unsqueeze(0);
}
}  // namespace

namespace {
// x: (N, C, H, W) -> (N, O, Ho, Wo) by im2col and batched matrix products (autograd through them).
Tensor conv2d_im2col(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window2dArgs& a,
                     int64_t groups, int64_t ho, int64_t wo) {
  const int64_t N = x.size(0), C = x.size(1), O = weight.size(0), G = groups;
  const int64_t K = (C / G) * a.kernel.h * a.kernel.w, L = ho * wo;
  Tensor cols = unfold(x, a, ho, wo).reshape({N, G, K, L});
  // (G, O / G, K) @ (N, G, K, L) -> (N, G, O / G, L)
  Tensor y = matmul(weight.reshape({G, O / G, K}), cols).reshape({N, O, ho, wo});
  if (bias.defined()) y = add(y, bias.reshape({O, 1, 1}));
  return y;
}

// The same on the backend's library kernels (oneDNN on the CPU), with their backward.
Tensor conv2d_library(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window2dArgs& a,
                      int64_t groups, int64_t ho, int64_t wo) {
  Tensor y = empty({x.size(0), weight.size(0), ho, wo}, x.dtype(), x.device());
  if (y.numel() > 0) backend(x.device()).conv2d_general_forward(x, weight, bias, a, groups, y);
  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  return record("conv2d", y, {x, weight, bias},
                [x = x.detach(), w = weight.detach(), a, groups, need_x, need_w, need_b](const Tensor& gy)
                    -> std::vector<Tensor> {
                  Tensor gx = need_x ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
                  Tensor gw = need_w ? empty(w.shape(), w.dtype(), w.device()) : Tensor();
                  Tensor gb = need_b ? empty({w.size(0)}, w.dtype(), w.device()) : Tensor();
                  if (gy.numel() > 0) {
                    backend(x.device()).conv2d_general_backward(gy, x, w, a, groups, gx, gw, gb);
                  } else {  // an empty batch contributes nothing
                    for (Tensor* t : {&gx, &gw, &gb})
                      if (t->defined()) t->zero_();
                  }
                  return {gx, gw, gb};
                });
}
}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, IntPair stride, IntPair padding,
              IntPair dilation, int64_t groups) {
  check_float(x, "conv2d", "the input");
  check_float(weight, "conv2d", "the weight");
  check_same(x, weight, "conv2d", "the input", "the weight");
  EMBER_CHECK(x.dim() == 4, "conv2d: expected 4-D input of shape [N, C, H, W], found ", shape_str(x.shape()));
  EMBER_CHECK(weight.dim() == 4, "conv2d: expected 4-D weight of shape [O, C / groups, kh, kw], found ",
              shape_str(weight.shape()));
  const int64_t C = x.size(1), O = weight.size(0);
  EMBER_CHECK(groups > 0 && C % groups == 0 && O % groups == 0, "conv2d: expected groups to divide the ", C,
              " input channels and the ", O, " output channels, found groups ", groups);
  EMBER_CHECK(weight.size(1) == C / groups, "conv2d: expected weight of shape [", O, ", ", C / groups,
              ", kh, kw] for an input with ", C, " channels in ", groups, " groups, found ",
              shape_str(weight.shape()));
  if (dilation.h == 1 && dilation.w == 1 && groups == 1) return conv2d(x, weight, bias, stride, padding);
  Window2dArgs a{{weight.size(2), weight.size(3)}, stride, padding, dilation};
  check_window("conv2d", a.kernel, stride, padding, dilation);
  if (bias.defined()) {
    check_float(bias, "conv2d", "bias");
    check_same(x, bias, "conv2d", "the input", "bias");
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == O, "conv2d: expected bias of shape [", O, "], found ",
                shape_str(bias.shape()));
  }
  const int64_t ho = pool_out(x.size(2), a.kernel.h, stride.h, padding.h, dilation.h, false);
  const int64_t wo = pool_out(x.size(3), a.kernel.w, stride.w, padding.w, dilation.w, false);
  EMBER_CHECK(ho > 0 && wo > 0, "conv2d: kernel ", pair_str(a.kernel), " dilated by ", pair_str(dilation),
              " is larger than the padded input ",
              shape_str({x.size(2) + 2 * padding.h, x.size(3) + 2 * padding.w}), " (input ", shape_str(x.shape()), ")");
  Tensor y = backend(x.device()).conv2d_general_supported(x, weight, a, groups)
                 ? conv2d_library(x, weight, bias, a, groups, ho, wo)
                 : conv2d_im2col(x, weight, bias, a, groups, ho, wo);
  if (trace::active())
    trace::op("conv2d", {x, weight, bias}, y,
              {trace::Attr::is("strides", pair_list(stride)), trace::Attr::is("pads", pads_list(padding)),
               trace::Attr::is("dilations", pair_list(dilation)), trace::Attr::i("group", groups)});
  return y;
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups) {
  check_float(x, "conv1d", "the input");
  check_float(weight, "conv1d", "the weight");
  EMBER_CHECK(x.dim() == 3, "conv1d: expected 3-D input of shape [N, C, L], found ", shape_str(x.shape()));
  EMBER_CHECK(weight.dim() == 3, "conv1d: expected 3-D weight of shape [O, C / groups, k], found ",
              shape_str(weight.shape()));
  // (N, C, L) as (N, C, 1, L)
  return conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding}, {1, dilation}, groups)
      .squeeze(2);
}

Tensor max_pool2d(const Tensor& x, IntPair kernel, IntPair stride, IntPair padding, IntPair dilation,
                  bool ceil_mode) {
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  if (dilation.h == 1 && dilation.w == 1 && !ceil_mode && x.defined() && x.dim() == 4)
    return max_pool2d(x, kernel, stride, padding);
  bool batched = true;
  Tensor x4 = batched4(x, "max_pool2d", batched);
  check_window("max_pool2d", kernel, stride, padding, dilation);
  EMBER_CHECK(2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w, "max_pool2d: padding ", pair_str(padding),
              " should be at most half of the kernel size ", pair_str(kernel));
  Window2dArgs a{kernel, stride, padding, dilation, ceil_mode};
  const int64_t ho = pool_out(x4.size(2), kernel.h, stride.h, padding.h, dilation.h, ceil_mode);
  const int64_t wo = pool_out(x4.size(3), kernel.w, stride.w, padding.w, dilation.w, ceil_mode);
  EMBER_CHECK(ho > 0 && wo > 0, "max_pool2d: kernel ", pair_str(kernel), " dilated by ", pair_str(dilation),
              " is larger than the padded input ",
              shape_str({x4.size(2) + 2 * padding.h, x4.size(3) + 2 * padding.w}), " (input ", shape_str(x.shape()),
              ")");
  Shape s{x4.size(0), x4.size(1), ho, wo};
  Tensor y = empty(s, x.dtype(), x.device()), indices = empty(s, kInt64, x.device());
  if (y.numel() > 0) backend(x.device()).max_pool2d_general(x4, a, y, indices);
  if (trace::active())
    trace::op("max_pool2d", {x4}, y,
              {trace::Attr::is("kernel_shape", pair_list(kernel)), trace::Attr::is("strides", pair_list(stride)),
               trace::Attr::is("pads", pads_list(padding)), trace::Attr::is("dilations", pair_list(dilation)),
               trace::Attr::i("ceil_mode", ceil_mode)});
  y = record("max_pool2d", y, {x4}, [indices, sx = x4.shape()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = zeros(sx, g.dtype(), g.device());
    if (g.numel() > 0) backend(g.device()).max_pool2d_backward(g, indices, gx);
    return {gx};
  });
  return batched ? y : y.squeeze(0);
}

Tensor avg_pool2d(const Tensor& x, IntPair kernel, IntPair stride, IntPair padding, bool ceil_mode,
                  bool count_include_pad) {
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  bool batched = true;
  Tensor x4 = batched4(x, "avg_pool2d", batched);
  check_window("avg_pool2d", kernel, stride, padding, 1);
  EMBER_CHECK(2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w, "avg_pool2d: padding ", pair_str(padding),
              " should be at most half of the kernel size ", pair_str(kernel));
  Window2dArgs a{kernel, stride, padding, 1, ceil_mode, count_include_pad};
  const int64_t ho = pool_out(x4.size(2), kernel.h, stride.h, padding.h, 1, ceil_mode);
  const int64_t wo = pool_out(x4.size(3), kernel.w, stride.w, padding.w, 1, ceil_mode);
  EMBER_CHECK(ho > 0 && wo > 0, "avg_pool2d: kernel ", pair_str(kernel), " is larger than the padded input ",
              shape_str({x4.size(2) + 2 * padding.h, x4.size(3) + 2 * padding.w}), " (input ", shape_str(x.shape()),
              ")");
  Tensor y = empty({x4.size(0), x4.size(1), ho, wo}, x.dtype(), x.device());
  backend(x.device()).avg_pool2d_forward(x4, a, y);
  if (trace::active())
    trace::op("avg_pool2d", {x4}, y,
              {trace::Attr::is("kernel_shape", pair_list(kernel)), trace::Attr::is("strides", pair_list(stride)),
               trace::Attr::is("pads", pads_list(padding)), trace::Attr::i("ceil_mode", ceil_mode),
               trace::Attr::i("count_include_pad", count_include_pad)});
  y = record("avg_pool2d", y, {x4}, [a, sx = x4.shape()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = empty(sx, g.dtype(), g.device());
    backend(g.device()).avg_pool2d_backward(g, a, gx);
    return {gx};
  });
  return batched ? y : y.squeeze(0);
}

Tensor adaptive_avg_pool2d(const Tensor& x, IntPair output_size) {
  bool batched = true;
  Tensor x4 = batched4(x, "adaptive_avg_pool2d", batched);
  EMBER_CHECK(output_size.h > 0 && output_size.w > 0, "adaptive_avg_pool2d: expected a positive output size, found ",
              pair_str(output_size));
  EMBER_CHECK(x4.size(2) > 0 && x4.size(3) > 0, "adaptive_avg_pool2d: expected a non-empty plane, found input ",
              shape_str(x.shape()));
  Tensor y = empty({x4.size(0), x4.size(1), output_size.h, output_size.w}, x.dtype(), x.device());
  backend(x.device()).adaptive_avg_pool2d_forward(x4, y);
  if (trace::active())
    trace::op("adaptive_avg_pool2d", {x4}, y, {trace::Attr::is("output_size", pair_list(output_size))});
  y = record("adaptive_avg_pool2d", y, {x4}, [sx = x4.shape()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = empty(sx, g.dtype(), g.device());
    backend(g.device()).adaptive_avg_pool2d_backward(g, gx);
    return {gx};
  });
  return batched ? y : y.squeeze(0);
}

}  // namespace ember
