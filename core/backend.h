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

// For the general ops at the end of Backend.
enum class BinaryExtOp { Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge };
enum class MathOp { Abs, Sigmoid, Tanh, Gelu, GeluTanh, Sqrt, Softplus };
inline const char* binary_ext_name(BinaryExtOp op) {
  const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"};
  return names[int(op)];
}
inline const char* math_op_name(MathOp op) {
  const char* names[] = {"abs", "sigmoid", "tanh", "gelu", "gelu(tanh)", "sqrt", "softplus"};
  return names[int(op)];
}
// A sliding window over (H, W), for im2col and the general pooling kernels.
struct Window2dArgs {
  IntPair kernel{1}, stride{1}, padding{0}, dilation{1};
  bool ceil_mode = false;
  bool count_include_pad = true;
};
// Element (i_0, ..., i_k) of `shape` sits at offset + sum_d i_d * strides[d] (in elements).
struct StridedView {
  Shape shape;
  std::vector<int64_t> strides;
  int64_t offset = 0;
};

// ---- optional extensions: fused kernels an optimizer asks a backend for by name ----
// A backend that has one returns it from its accessor below (Backend::fused_sgd); the others return
// nullptr and the optimizer runs its update from public ops. None is part of the kernel interface
// that every backend implements.

// One SGD update of a parameter (torch.optim.SGD's rule, see optim/sgd.h), for FusedSgd::sgd_step.
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

// SGD over many parameters at once (the CUDA backend: one launch for all of a group's parameters).
class FusedSgd {
 public:
  // Applies one SGD step to every slot (all on this backend's device), as optim/sgd.cpp's update().
  virtual void sgd_step(const SgdHyper& hyper, const std::vector<SgdSlot>& slots) = 0;

 protected:
  ~FusedSgd() = default;
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

  // ---- optional extensions (see FusedSgd above); inline, so that the module's vtable of Backend
  // needs nothing of libember (core/cuda_module.h) ----
  virtual FusedSgd* fused_sgd() { return nullptr; }

  // ==== general ops (views, indexing, elementwise, reductions beyond MNISTNet) ====
  // Each default refuses, naming the op and the backend; the CPU backend implements them all.
  // Strided views are relative to the tensor's raw_data(); all tensors are otherwise contiguous.

  // dst viewed through `to` = src viewed through `from` (same shape, same dtype).
  virtual void strided_copy(const Tensor& src, const StridedView& from, Tensor& dst, const StridedView& to) {
    (void)src, (void)from, (void)dst, (void)to;
    EMBER_FAIL("strided_copy (transpose, permute, narrow, cat, expand): no kernel for ", name(), " tensors");
  }
  // out = a op b, numpy broadcasting; a and b share a dtype (any but bool for arithmetic); out has
  // that dtype, or bool for the comparisons.
  virtual void binary_ext(BinaryExtOp op, const Tensor& a, const Tensor& b, Tensor& out) {
    (void)op, (void)a, (void)b, (void)out;
    EMBER_FAIL(binary_ext_name(op), ": no kernel for ", name(), " tensors");
  }
  // out = cond ? a : b, all three broadcast to out's shape; cond bool, a and b out's dtype.
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
    (void)cond, (void)a, (void)b, (void)out;
    EMBER_FAIL("where: no kernel for ", name(), " tensors");
  }
  // y = f(x) and grad_x = grad_y * f'(x), float dtypes, same shape.
  virtual void math(MathOp op, const Tensor& x, Tensor& y) {
    (void)op, (void)x, (void)y;
    EMBER_FAIL(math_op_name(op), ": no kernel for ", name(), " tensors");
  }
  virtual void math_backward(MathOp op, const Tensor& grad_y, const Tensor& x, Tensor& grad_x) {
    (void)op, (void)grad_y, (void)x, (void)grad_x;
    EMBER_FAIL(math_op_name(op), ": no kernel for ", name(), " tensors");
  }
  // y = min(max(x, lo), hi), float dtypes.
  virtual void clamp(const Tensor& x, double lo, double hi, Tensor& y) {
    (void)x, (void)lo, (void)hi, (void)y;
    EMBER_FAIL("clamp: no kernel for ", name(), " tensors");
  }
  // x: (outer, n, inner) -> values (outer, inner) and int64 indices (outer, inner); first extreme wins.
  virtual void minmax_dim(const Tensor& x, int64_t dim, bool is_max, Tensor& values, Tensor& indices) {
    (void)x, (void)dim, (void)is_max, (void)values, (void)indices;
    EMBER_FAIL(is_max ? "max" : "min", ": no kernel for ", name(), " tensors");
  }
  // x: (outer, n, inner), index int64 (k) -> out (outer, k, inner); an index outside [0, n) throws.
  virtual void index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
    (void)x, (void)dim, (void)index, (void)out;
    EMBER_FAIL("index_select: no kernel for ", name(), " tensors");
  }
  // The backward: out (outer, n, inner) += src (outer, k, inner) at the rows `index` names.
  virtual void index_add(const Tensor& src, int64_t dim, const Tensor& index, Tensor& out) {
    (void)src, (void)dim, (void)index, (void)out;
    EMBER_FAIL("index_add (index_select backward): no kernel for ", name(), " tensors");
  }
  // out[..., i_dim, ...] = x[..., index[..., i_dim, ...], ...]; out and index share a shape.
  virtual void gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
    (void)x, (void)dim, (void)index, (void)out;
    EMBER_FAIL("gather: no kernel for ", name(), " tensors");
  }
  // The backward: out[..., index[..., i, ...], ...] += src[..., i, ...].
  virtual void scatter_add(const Tensor& src, int64_t dim, const Tensor& index, Tensor& out) {
    (void)src, (void)dim, (void)index, (void)out;
    EMBER_FAIL("scatter_add (gather backward): no kernel for ", name(), " tensors");
  }
  // Window geometry of the kernels below; the output size is y's (or cols') shape, chosen by the op.
  // x: (N, C, H, W) -> cols: (N, C * kh * kw, Ho * Wo), zero outside the input (im2col, as torch's unfold).
  virtual void im2col(const Tensor& x, const Window2dArgs& args, Tensor& cols) {
    (void)x, (void)args, (void)cols;
    EMBER_FAIL("im2col (conv2d with dilation or groups, conv1d): no kernel for ", name(), " tensors");
  }
  // conv2d with dilation and groups on a tuned library (oneDNN on the CPU), where the backend has one:
  // conv2d_general_supported says, by a fixed rule of shape and dtype, whether it takes this case;
  // the pair then computes it as conv2d_forward and conv2d_backward do (y's shape is the output's).
  // Elsewhere the op runs im2col + GEMM. x: (N, C, H, W), w: (O, C / groups, kh, kw) -> y: (N, O, Ho, Wo)
  virtual bool conv2d_general_supported(const Tensor& x, const Tensor& w, const Window2dArgs& args,
                                        int64_t groups) {
    (void)x, (void)w, (void)args, (void)groups;
    return false;
  }
  virtual void conv2d_general_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Window2dArgs& args,
                                      int64_t groups, Tensor& y) {
    (void)x, (void)w, (void)b, (void)args, (void)groups, (void)y;
    EMBER_FAIL("conv2d (dilation, groups): no library kernel for ", name(), " tensors");
  }
  virtual void conv2d_general_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w,
                                       const Window2dArgs& args, int64_t groups, Tensor& grad_x, Tensor& grad_w,
                                       Tensor& grad_b) {
    (void)grad_y, (void)x, (void)w, (void)args, (void)groups, (void)grad_x, (void)grad_w, (void)grad_b;
    EMBER_FAIL("conv2d (dilation, groups): no library kernel for ", name(), " tensors");
  }
  // The adjoint: x (N, C, H, W) = sum of the columns back into their windows (written whole).
  virtual void col2im(const Tensor& cols, const Window2dArgs& args, Tensor& x) {
    (void)cols, (void)args, (void)x;
    EMBER_FAIL("col2im (conv2d with dilation or groups, conv1d): no kernel for ", name(), " tensors");
  }
  // max_pool2d with dilation and ceil_mode; indices as max_pool2d_forward's (backward: max_pool2d_backward).
  virtual void max_pool2d_general(const Tensor& x, const Window2dArgs& args, Tensor& y, Tensor& indices) {
    (void)x, (void)args, (void)y, (void)indices;
    EMBER_FAIL("max_pool2d (dilation, ceil_mode): no kernel for ", name(), " tensors");
  }
  // x: (N, C, H, W) -> y: (N, C, Ho, Wo); the divisor follows count_include_pad, as PyTorch's.
  virtual void avg_pool2d_forward(const Tensor& x, const Window2dArgs& args, Tensor& y) {
    (void)x, (void)args, (void)y;
    EMBER_FAIL("avg_pool2d: no kernel for ", name(), " tensors");
  }
  virtual void avg_pool2d_backward(const Tensor& grad_y, const Window2dArgs& args, Tensor& grad_x) {
    (void)grad_y, (void)args, (void)grad_x;
    EMBER_FAIL("avg_pool2d: no kernel for ", name(), " tensors");
  }
  // x: (N, C, H, W) -> y: (N, C, Ho, Wo), window i spanning [floor(i H / Ho), ceil((i + 1) H / Ho)).
  virtual void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
    (void)x, (void)y;
    EMBER_FAIL("adaptive_avg_pool2d: no kernel for ", name(), " tensors");
  }
  virtual void adaptive_avg_pool2d_backward(const Tensor& grad_y, Tensor& grad_x) {
    (void)grad_y, (void)grad_x;
    EMBER_FAIL("adaptive_avg_pool2d: no kernel for ", name(), " tensors");
  }
  // ==== end of general ops ====
};

// The backend for a device; throws if that device's backend was not built or is unavailable.
Backend& backend(Device device);
// cuda_built() and cuda_device_count() are public: core/cuda.h.


}  // namespace ember
