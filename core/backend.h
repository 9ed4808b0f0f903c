#pragma once
// The backend interface: every kernel an op needs, in forward/backward pairs with the same
// signature on every device. Ops allocate outputs and call backend(x.device()).kernel(...);
// they never ask which device they run on. The registry in core/backend.cpp is the only place
// that knows whether CUDA was built.
#include <cstddef>
#include <vector>

#include "ember/core/cuda.h"
#include "ember/core/tensor.h"

namespace ember {

enum class BinaryOp { Add, Sub, Mul, Div };
enum class UnaryOp { Neg, Relu, Exp, Log, Sqrt };

struct Conv2dArgs {
  IntPair stride{1};
  IntPair padding{0};
};

struct Pool2dArgs {
  IntPair kernel{2};
  IntPair stride{2};
  IntPair padding{0};
};

// One SGD update of a parameter (torch.optim.SGD's rule, see optim/sgd.h), for Backend::sgd_step.
struct SgdHyper {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
};
struct SgdSlot {
  Tensor param;            // updated in place
  Tensor grad;             // read only
  Tensor momentum_buffer;  // same shape; undefined when momentum == 0
  bool init_buffer = false;  // first step: the buffer receives the gradient instead of being updated
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // ---- memory ----
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_within(void* dst, const void* src, size_t nbytes) = 0;

  // ---- elementwise: `out` is allocated by the caller with its final shape and dtype ----
  virtual void fill(Tensor& out, double value) = 0;
  // Same number of elements, any dtypes (float -> int truncates toward zero, as static_cast).
  virtual void cast(const Tensor& src, Tensor& out) = 0;
  // out = a op b, with a and b broadcast (numpy rules) to out's shape. Float dtypes, all the same.
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // out = a op s, or s op a when scalar_first.
  virtual void binary_scalar(BinaryOp op, const Tensor& a, double s, bool scalar_first, Tensor& out) = 0;
  virtual void unary(UnaryOp op, const Tensor& a, Tensor& out) = 0;
  // grad_x = grad_y where x > 0, else 0.   all: same shape
  virtual void relu_backward(const Tensor& grad_y, const Tensor& x, Tensor& grad_x) = 0;
  // y += alpha * x, same numel (optimizer updates and gradient accumulation).
  virtual void axpy(double alpha, const Tensor& x, Tensor& y) = 0;
  // y *= x elementwise, same numel.
  virtual void mul_inplace(const Tensor& x, Tensor& y) = 0;

  // ---- reductions ----
  // out's shape broadcasts to x's shape: out = x summed over the broadcast dims (sum of all when out is scalar).
  virtual void sum_to(const Tensor& x, Tensor& out) = 0;
  // x: (outer, x.shape[dim], inner) -> out: (outer, inner), summed along dim.
  virtual void sum_dim(const Tensor& x, int64_t dim, Tensor& out) = 0;
  // x: (outer, x.shape[dim], inner) -> out int64 (outer, inner); first maximum wins.
  virtual void argmax(const Tensor& x, int64_t dim, Tensor& out) = 0;

  // ---- matrices: c = alpha * op(a) @ op(b) + beta * c, all 2-D row-major ----
  virtual void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b,
                    double beta, Tensor& c) = 0;

  // ---- convolution ----
  // x: (N, C, H, W), w: (O, C, kh, kw), b: (O) or undefined -> y: (N, O, Ho, Wo)
  virtual void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args,
                              Tensor& y) = 0;
  // Writes (not accumulates) grad_x, grad_w, grad_b; any of them may be undefined when not needed.
  virtual void conv2d_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                               Tensor& grad_x, Tensor& grad_w, Tensor& grad_b) = 0;

  // ---- pooling ----
  // x: (N, C, H, W) -> y: (N, C, Ho, Wo), indices int64 (N, C, Ho, Wo): argmax as h * W + w in its plane.
  virtual void max_pool2d_forward(const Tensor& x, const Pool2dArgs& args, Tensor& y, Tensor& indices) = 0;
  // grad_x (N, C, H, W) is written whole (zeros where no maximum was taken).
  virtual void max_pool2d_backward(const Tensor& grad_y, const Tensor& indices, Tensor& grad_x) = 0;
  // The same, told the forward's window geometry, so that a GPU can gather each input's gradient from
  // the windows that hold it (in a fixed order, without atomics). Defaults to the version above.
  virtual void max_pool2d_backward_args(const Tensor& grad_y, const Tensor& indices, const Pool2dArgs& args,
                                        Tensor& grad_x) {
    max_pool2d_backward(grad_y, indices, grad_x);
  }

  // ---- batch normalisation, per channel (dim 1) of x: (N, C) or (N, C, H, W) ----
  // training: normalises with the batch statistics, writes save_mean and save_invstd (C), and, where
  //   running_mean/var are defined, updates them: r = (1 - momentum) * r + momentum * stat, with the
  //   unbiased variance. eval: normalises with running_mean/var; save_* receive those (mean, 1/sqrt(var+eps)).
  // weight and bias (C) may be undefined (affine=false).
  virtual void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  Tensor& running_mean, Tensor& running_var, bool training, double momentum,
                                  double eps, Tensor& y, Tensor& save_mean, Tensor& save_invstd) = 0;
  // grad_weight / grad_bias may be undefined. In eval mode the statistics are constants.
  virtual void batch_norm_backward(const Tensor& grad_y, const Tensor& x, const Tensor& weight,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                   Tensor& grad_x, Tensor& grad_weight, Tensor& grad_bias) = 0;

  // ---- dropout: mask gets 0 with probability p, else 1 / (1 - p) ----
  virtual void dropout_mask(double p, Generator& gen, Tensor& mask) = 0;

  // ---- losses: x (N, K) ----
  // y = log_softmax(x) along dim 1.
  virtual void log_softmax_forward(const Tensor& x, Tensor& y) = 0;
  // grad_x = grad_y - exp(y) * sum(grad_y, dim 1)
  virtual void log_softmax_backward(const Tensor& grad_y, const Tensor& y, Tensor& grad_x) = 0;
  // loss (scalar) = -mean_i logp[i, target[i]]; target int64 (N); a target outside [0, K) throws.
  virtual void nll_loss_forward(const Tensor& logp, const Tensor& target, Tensor& loss) = 0;
  // grad_logp (N, K) written whole: -grad_loss / N at [i, target[i]], 0 elsewhere.
  virtual void nll_loss_backward(const Tensor& grad_loss, const Tensor& target, Tensor& grad_logp) = 0;

  // ---- random fills, float dtypes ----
  virtual void uniform(Tensor& out, double low, double high, Generator& gen) = 0;
  virtual void normal(Tensor& out, double mean, double std, Generator& gen) = 0;

  // ---- optimizers ----
  // Applies one SGD step to every slot (all on this backend's device). CPU runs sgd_step_per_tensor;
  // CUDA fuses the whole list into one launch. Pure, so that the module's vtable of Backend needs
  // nothing of libember (core/cuda_module.h).
  virtual void sgd_step(const SgdHyper& hyper, const std::vector<SgdSlot>& slots) = 0;
};

// The backend for a device; throws if that device's backend was not built or is unavailable.
Backend& backend(Device device);
// cuda_built() and cuda_device_count() are public: core/cuda.h.

// torch.optim.SGD's update through the per-tensor kernels above (core/sgd_step.cpp).
void sgd_step_per_tensor(Backend& b, const SgdHyper& hyper, const std::vector<SgdSlot>& slots);

}  // namespace ember
