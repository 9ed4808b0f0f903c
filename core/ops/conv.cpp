// conv2d: the op, its input checks, and its backward.
#include "ember/core/ops/common.h"

namespace ember {

namespace {

std::string pair_str(IntPair p) { return shape_str({p.h, p.w}); }

void check_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, IntPair stride, IntPair padding) {
  EMBER_CHECK(x.defined(), "conv2d: the input is undefined");
  EMBER_CHECK(w.defined(), "conv2d: the weight is undefined");
  EMBER_CHECK(x.dim() == 4, "conv2d: expected 4-D input of shape [N, C, H, W], found ", shape_str(x.shape()));
  EMBER_CHECK(w.dim() == 4, "conv2d: expected 4-D weight of shape [O, C, kh, kw], found ", shape_str(w.shape()));
  EMBER_CHECK(is_floating(x.dtype()), "conv2d: expected a float32 or float64 input, found ", dtype_name(x.dtype()));
  EMBER_CHECK(w.dtype() == x.dtype(), "conv2d: expected weight of dtype ", dtype_name(x.dtype()),
              " (the input's), found ", dtype_name(w.dtype()));
  EMBER_CHECK(w.device() == x.device(), "conv2d: expected weight on ", x.device().str(), " (the input's), found ",
              w.device().str());
  const int64_t c = x.size(1), o = w.size(0);
  EMBER_CHECK(w.size(1) == c, "conv2d: expected weight of shape [O, ", c, ", kh, kw] for input with ", c,
              " channels, found ", shape_str(w.shape()));
  EMBER_CHECK(o > 0 && c > 0 && w.size(2) > 0 && w.size(3) > 0, "conv2d: expected a non-empty weight, found ",
              shape_str(w.shape()));
  if (b.defined()) {
    EMBER_CHECK(b.dim() == 1 && b.size(0) == o, "conv2d: expected bias of shape [", o, "] for weight ",
                shape_str(w.shape()), ", found ", shape_str(b.shape()));
    EMBER_CHECK(b.dtype() == x.dtype(), "conv2d: expected bias of dtype ", dtype_name(x.dtype()),
                " (the input's), found ", dtype_name(b.dtype()));
    EMBER_CHECK(b.device() == x.device(), "conv2d: expected bias on ", x.device().str(), " (the input's), found ",
                b.device().str());
  }
  EMBER_CHECK(stride.h > 0 && stride.w > 0, "conv2d: expected a positive stride, found ", pair_str(stride));
  EMBER_CHECK(padding.h >= 0 && padding.w >= 0, "conv2d: expected a non-negative padding, found ",
              pair_str(padding));
  const int64_t ph = x.size(2) + 2 * padding.h, pw = x.size(3) + 2 * padding.w;
  EMBER_CHECK(w.size(2) <= ph && w.size(3) <= pw, "conv2d: kernel ", shape_str({w.size(2), w.size(3)}),
              " is larger than the padded input ", shape_str({ph, pw}), " (input ", shape_str(x.shape()),
              ", padding ", pair_str(padding), ")");
}

}  // namespace

// x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O) or undefined -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, IntPair stride, IntPair padding) {
  check_conv2d(x, weight, bias, stride, padding);
  const Conv2dArgs args{stride, padding};
  const int64_t ho = (x.size(2) + 2 * padding.h - weight.size(2)) / stride.h + 1;
  const int64_t wo = (x.size(3) + 2 * padding.w - weight.size(3)) / stride.w + 1;
  Tensor y = empty({x.size(0), weight.size(0), ho, wo}, x.dtype(), x.device());
  if (y.numel() > 0) backend(x.device()).conv2d_forward(x, weight, bias, args, y);
  if (trace::active())
    trace::op("conv2d", {x, weight, bias}, y,
              {trace::Attr::is("strides", detail::pair_list(stride)), trace::Attr::is("pads", detail::pads_list(padding)),
               trace::Attr::is("dilations", {1, 1}), trace::Attr::i("group", 1)});

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  return record("conv2d", y, {x, weight, bias},
                [x = x.detach(), w = weight.detach(), args, need_x, need_w, need_b](const Tensor& gy)
                    -> std::vector<Tensor> {
                  Tensor gx = need_x ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
                  Tensor gw = need_w ? empty(w.shape(), w.dtype(), w.device()) : Tensor();
                  Tensor gb = need_b ? empty({w.size(0)}, w.dtype(), w.device()) : Tensor();
                  if (gy.numel() > 0) {
                    backend(x.device()).conv2d_backward(gy, x, w, args, gx, gw, gb);
                  } else {  // an empty batch contributes nothing
                    for (Tensor* t : {&gx, &gw, &gb})
                      if (t->defined()) t->zero_();
                  }
                  return {gx, gw, gb};
                });
}

}  // namespace ember
