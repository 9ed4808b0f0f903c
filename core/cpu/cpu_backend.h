#pragma once
// The CPU backend: the readable reference every other backend is checked against.
// Its kernels are spread by family over core/cpu/*.cpp, mirroring core/ops/*.cpp.
#include "ember/core/backend.h"

namespace ember {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void copy_from_host(void* dst, const void* src, size_t nbytes) override;
  void copy_to_host(void* dst, const void* src, size_t nbytes) override;
  void copy_within(void* dst, const void* src, size_t nbytes) override;

  void fill(Tensor& out, double value) override;
  void cast(const Tensor& src, Tensor& out) override;
  void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override;
  void binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first, Tensor& out) override;
  void unary(UnaryOp op, const Tensor& a, Tensor& out) override;
  void relu_backward(const Tensor& grad_y, const Tensor& x, Tensor& grad_x) override;
  void axpy(double alpha, const Tensor& x, Tensor& y) override;
  void mul_inplace(const Tensor& x, Tensor& y) override;

  void sum_to(const Tensor& x, Tensor& out) override;
  void sum_dim(const Tensor& x, int64_t dim, Tensor& out) override;
  void argmax(const Tensor& x, int64_t dim, Tensor& out) override;

  void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b, double beta,
            Tensor& c) override;

  void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args,
                      Tensor& y) override;
  void conv2d_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                       Tensor& grad_x, Tensor& grad_w, Tensor& grad_b) override;

  void max_pool2d_forward(const Tensor& x, const Pool2dArgs& args, Tensor& y, Tensor& indices) override;
  void max_pool2d_backward(const Tensor& grad_y, const Tensor& indices, Tensor& grad_x) override;

  void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                          Tensor& running_var, bool training, double momentum, double eps, Tensor& y,
                          Tensor& save_mean, Tensor& save_invstd) override;
  void batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                           const Tensor& save_invstd, bool training, Tensor& grad_x, Tensor& grad_weight,
                           Tensor& grad_bias) override;

  void dropout_mask(double p, Generator& gen, Tensor& mask) override;

  void log_softmax_forward(const Tensor& x, Tensor& y) override;
  void log_softmax_backward(const Tensor& grad_y, const Tensor& y, Tensor& grad_x) override;
  void nll_loss_forward(const Tensor& logp, const Tensor& target, Tensor& loss) override;
  void nll_loss_backward(const Tensor& grad_loss, const Tensor& target, Tensor& grad_logp) override;

  void uniform(Tensor& out, double low, double high, Generator& gen) override;
  void normal(Tensor& out, double mean, double std, Generator& gen) override;

  // General ops (core/cpu/strided.cpp, core/cpu/math.cpp, core/cpu/index.cpp).
  void strided_copy(const Tensor& src, const StridedView& from, Tensor& dst, const StridedView& to) override;
  void binary_ext(BinaryExtOp op, const Tensor& a, const Tensor& b, Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) override;
  void math(MathOp op, const Tensor& x, Tensor& y) override;
  void math_backward(MathOp op, const Tensor& grad_y, const Tensor& x, Tensor& grad_x) override;
  void clamp(const Tensor& x, double lo, double hi, Tensor& y) override;
  void minmax_dim(const Tensor& x, int64_t dim, bool is_max, Tensor& values, Tensor& indices) override;
  void index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) override;
  void index_add(const Tensor& src, int64_t dim, const Tensor& index, Tensor& out) override;
  void gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) override;
  void scatter_add(const Tensor& src, int64_t dim, const Tensor& index, Tensor& out) override;
  // core/cpu/window.cpp
  void im2col(const Tensor& x, const Window2dArgs& args, Tensor& cols) override;
  // core/cpu/conv.cpp: oneDNN where dnnl_conv::chosen() takes the shape.
  bool conv2d_general_supported(const Tensor& x, const Tensor& w, const Window2dArgs& args, int64_t groups) override;
  void conv2d_general_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Window2dArgs& args,
                              int64_t groups, Tensor& y) override;
  void conv2d_general_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Window2dArgs& args,
                               int64_t groups, Tensor& grad_x, Tensor& grad_w, Tensor& grad_b) override;
  void col2im(const Tensor& cols, const Window2dArgs& args, Tensor& x) override;
  void max_pool2d_general(const Tensor& x, const Window2dArgs& args, Tensor& y, Tensor& indices) override;
  void avg_pool2d_forward(const Tensor& x, const Window2dArgs& args, Tensor& y) override;
  void avg_pool2d_backward(const Tensor& grad_y, const Window2dArgs& args, Tensor& grad_x) override;
  void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) override;
  void adaptive_avg_pool2d_backward(const Tensor& grad_y, Tensor& grad_x) override;
};

CpuBackend& cpu_backend();

// Ember's own conv2d kernels (core/cpu/conv.cpp), whichever method CpuBackend::conv2d_forward and
// conv2d_backward pick for a shape: the reference the oneDNN path is tested against.
void conv2d_forward_direct(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args, Tensor& y);
void conv2d_backward_direct(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                            Tensor& grad_x, Tensor& grad_w, Tensor& grad_b);

}  // namespace ember
