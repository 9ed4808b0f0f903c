#pragma once
// The CUDA backend: the same kernels as CpuBackend, name for name, one file per family in cuda/.
// Plain C++ (no CUDA headers), shared by module.cpp and the .cu files of the module; the stream,
// allocator and library handles live behind cuda::Context (cuda/context.h).
//
// All work of a device runs in order on one stream of its own. Memory comes from a caching
// allocator whose blocks are reused in stream order (no cudaMalloc in a training step once the
// sizes have been seen); host-to-device copies go through pinned staging buffers, so they are
// asynchronous and the host buffer can be freed as soon as the call returns.
#include <memory>
#include <string>
#include <vector>

#include "ember/core/backend.h"
#include "ember/core/cuda.h"

namespace ember {

namespace cuda {

// The module's own names: libember has ember::cuda_backend (core/cuda_loader.cpp) and
// ember::deterministic (core/determinism.cpp), which reach these through the module table.

// The backend of GPU `index`; throws a clear error if there is no such GPU.
Backend& device_backend(int index);
// How many GPUs the CUDA runtime sees (0 when there is no GPU or driver).
int visible_device_count();
// The program's deterministic mode, asked of libember through the host table (module.cpp).
bool host_deterministic();

struct Context;

// synchronize, cudnn_*, memory_stats, empty_cache and profile_*: declared in core/cuda.h, defined
// here (context.cpp) and reached through the module table (module.cpp).

}  // namespace cuda

class CudaBackend final : public Backend, public FusedSgd {
 public:
  explicit CudaBackend(int device);
  ~CudaBackend() override;
  const char* name() const override { return "cuda"; }
  int device() const { return device_; }
  cuda::Context& context() const { return *ctx_; }

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
  void max_pool2d_backward_args(const Tensor& grad_y, const Tensor& indices, const Pool2dArgs& args,
                                Tensor& grad_x) override;

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

  // The fused SGD extension (cuda/optim.cu): a group's parameters in one launch.
  FusedSgd* fused_sgd() override { return this; }
  void sgd_step(const SgdHyper& hyper, const std::vector<SgdSlot>& slots) override;

  // See cuda::synchronize.
  void synchronize();

 private:
  // conv2d through cuDNN (cuda/conv_cudnn.cpp); false if cuDNN is not built or not enabled.
  bool cudnn_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args, Tensor& y);
  bool cudnn_conv2d_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                             Tensor& grad_x, Tensor& grad_w);

  int device_;
  std::unique_ptr<cuda::Context> ctx_;
};

}  // namespace ember
