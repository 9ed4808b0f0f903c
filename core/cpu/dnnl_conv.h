#pragma once
// float32 conv2d on oneDNN (libdnnl), in builds made with it (EMBER_DNNL): see dnnl_conv.cpp.
// Ember's own kernels (conv.cpp, and im2col + GEMM for dilation and groups) stay the reference.
#include <cstdint>

namespace ember::dnnl_conv {

struct Shape {
  int64_t n, c, h, w;          // input (N, C, H, W)
  int64_t o, kh, kw, groups;   // weight (O, C / groups, kh, kw)
  int64_t sh, sw, ph, pw, dh, dw;  // stride, padding, dilation (1: none)
  int64_t ho, wo;              // output (N, O, Ho, Wo)
};

// Whether this build has oneDNN.
bool compiled();
// Whether conv2d of this shape runs on oneDNN: a fixed rule of the shape (see dnnl_conv.cpp), so the
// same choice on every run and on resume. EMBER_CONV=direct in the environment turns oneDNN off and
// EMBER_CONV=dnnl takes it for every shape it supports (for benchmarks and tests of either path).
bool chosen(const Shape& s);
// The rule alone, without EMBER_CONV.
bool rule(const Shape& s);

// x: (N, C, H, W), w: (O, C / groups, kh, kw), b: (O) or null -> y: (N, O, Ho, Wo)
void forward(const Shape& s, const float* x, const float* w, const float* b, float* y);
// gy: (N, O, Ho, Wo) -> gx (N, C, H, W), gw (O, C / groups, kh, kw), gb (O): each written, each may be null.
void backward(const Shape& s, const float* gy, const float* x, const float* w, float* gx, float* gw, float* gb);

}  // namespace ember::dnnl_conv
