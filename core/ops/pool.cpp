// max_pool2d: the op, its input checks, and its backward (which routes gradients through the saved
// argmax indices).
#include "ember/core/ops/common.h"

namespace ember {

namespace {

std::string pair_str(IntPair p) { return shape_str({p.h, p.w}); }

void check_max_pool2d(const Tensor& x, IntPair kernel, IntPair stride, IntPair padding) {
  EMBER_CHECK(x.defined(), "max_pool2d: the input is undefined");
  EMBER_CHECK(x.dim() == 4, "max_pool2d: expected 4-D input of shape [N, C, H, W], found ", shape_str(x.shape()));
  EMBER_CHECK(is_floating(x.dtype()), "max_pool2d: expected a float32 or float64 input, found ",
              dtype_name(x.dtype()));
  EMBER_CHECK(kernel.h > 0 && kernel.w > 0, "max_pool2d: expected a positive kernel size, found ",
              pair_str(kernel));
  EMBER_CHECK(stride.h > 0 && stride.w > 0, "max_pool2d: expected a positive stride, found ", pair_str(stride));
  EMBER_CHECK(padding.h >= 0 && padding.w >= 0, "max_pool2d: expected a non-negative padding, found ",
              pair_str(padding));
  // As PyTorch: a window must always hold at least one real element.
  EMBER_CHECK(2 * padding.h <= kernel.h && 2 * padding.w <= kernel.w, "max_pool2d: padding ", pair_str(padding),
              " should be at most half of the kernel size ", pair_str(kernel));
  const int64_t ph = x.size(2) + 2 * padding.h, pw = x.size(3) + 2 * padding.w;
  EMBER_CHECK(kernel.h <= ph && kernel.w <= pw, "max_pool2d: kernel ", pair_str(kernel),
              " is larger than the padded input ", shape_str({ph, pw}), " (input ", shape_str(x.shape()),
              ", padding ", pair_str(padding), ")");
}

}  // namespace

// x: (N, C, H, W) -> (N, C, (H + 2p - k) / s + 1, (W + 2p - k) / s + 1); stride 0 means the kernel size.
Tensor max_pool2d(const Tensor& x, IntPair kernel, IntPair stride, IntPair padding) {
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  check_max_pool2d(x, kernel, stride, padding);
  const Pool2dArgs args{kernel, stride, padding};
  const int64_t ho = (x.size(2) + 2 * padding.h - kernel.h) / stride.h + 1;
  const int64_t wo = (x.size(3) + 2 * padding.w - kernel.w) / stride.w + 1;
  const Shape out_shape{x.size(0), x.size(1), ho, wo};
  Tensor y = empty(out_shape, x.dtype(), x.device());
  Tensor indices = empty(out_shape, kInt64, x.device());
  if (y.numel() > 0) backend(x.device()).max_pool2d_forward(x, args, y, indices);
  if (trace::active())
    trace::op("max_pool2d", {x}, y,
              {trace::Attr::is("kernel_shape", detail::pair_list(kernel)),
               trace::Attr::is("strides", detail::pair_list(stride)), trace::Attr::is("pads", detail::pads_list(padding)),
               trace::Attr::is("dilations", {1, 1}), trace::Attr::i("ceil_mode", 0)});

  return record("max_pool2d", y, {x},
                [indices, args, x_shape = x.shape(), dtype = x.dtype(), device = x.device()](const Tensor& gy)
                    -> std::vector<Tensor> {
                  Tensor gx = empty(x_shape, dtype, device);
                  if (gy.numel() > 0) backend(device).max_pool2d_backward_args(gy, indices, args, gx);
                  else gx.zero_();
                  return {gx};
                });
}

}  // namespace ember
