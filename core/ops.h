#pragma once
// The differentiable ops. Each checks its inputs (throwing ember::Error naming the op and the
// expected and found shapes), computes through the backend of its input's device, and records its
// backward when an input requires grad. Definitions live by family in core/ops/*.cpp.
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "ember/core/autograd.h"
#include "ember/core/options.h"
#include "ember/core/shape.h"
#include "ember/core/tensor.h"

namespace ember {

// ---- elementwise (core/ops/elementwise.cpp); broadcasting as numpy ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor sub(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rsub(double s, const Tensor& a);  // s - a
Tensor rdiv(double s, const Tensor& a);  // s / a
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor relu(const Tensor& x);
// Integer tensors (int64, uint8) add, subtract and multiply exactly, without autograd; div on them
// divides in float32, as PyTorch's true division.

// ---- elementwise math and activations (core/ops/math.cpp) ----
Tensor abs(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& a, const Tensor& exponent);  // broadcasting
Tensor pow(const Tensor& a, double exponent);
// Either bound may be absent (not both).
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max = std::nullopt);
Tensor maximum(const Tensor& a, const Tensor& b);  // a tie splits the gradient, as PyTorch
Tensor minimum(const Tensor& a, const Tensor& b);
// cond: bool, broadcast with a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, double b);
Tensor where(const Tensor& cond, double a, const Tensor& b);
// Comparisons: bool tensors, broadcasting; no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor softplus(const Tensor& x);  // log(1 + exp(x)), computed without overflow (beta 1)
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
// approximate: "none" (the exact erf form) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
// Along any dim of any rank.
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return sub(a, s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return div(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub(s, a); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return rdiv(s, a); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

// ---- views and shapes (core/ops/shape.cpp) ----
// Storage is contiguous-only: all but narrow/slice along dim 0 and (un)squeeze return copies, with
// the values and gradients PyTorch's views give. Negative dims count from the back.
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor t(const Tensor& x);  // rank <= 2
// x[..., start:end:step, ...] along `dim`, with Python's clamping of start and end; step > 0.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);  // drops `dim`
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);  // last piece may be smaller
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
Tensor squeeze(const Tensor& x);               // every size-1 dim
Tensor squeeze(const Tensor& x, int64_t dim);  // that dim, if it has size 1
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a size; gradient summed back
// index: int64, 0-d or 1-D; x (..., n, ...) -> (..., index.numel(), ...)
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[i][j][k] = x[i][index[i][j][k]][k] for dim 1; index int64 of x's rank -> out of index's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

// ---- reductions (core/ops/reduce.cpp) ----
Tensor sum(const Tensor& x);                                   // all elements -> scalar
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
// Sums x down to `shape` (which broadcasts to x's shape): the backward of broadcasting.
Tensor sum_to(const Tensor& x, const Shape& shape);
// Over several dims (an empty list means all), as torch.sum(x, dims, keepdim).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// Values and int64 indices of the extreme along dim (the first one on ties): auto [v, i] = max(x, 1);
// the gradient goes to that index.
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // of all elements
Tensor min(const Tensor& x);
// int64, no grad; without a dim, the index into the flattened input.
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& x);
Tensor argmin(const Tensor& x);
// Divides by N - correction (1: unbiased, Bessel's; 0: the population variance).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

// ---- matrices (core/ops/linear.cpp) ----
// numpy's matmul: (n, k) @ (k, m) -> (n, m); 1-D operands as vectors; batch dims broadcast:
// (B1, 1, n, k) @ (B2, k, m) -> (B1, B2, n, m).
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // (B, n, k) @ (B, k, m) -> (B, n, m)
// x: (*, in), weight: (out, in), bias: (out) or undefined -> (*, out)
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- convolution and pooling (core/ops/conv.cpp, core/ops/pool.cpp) ----
// x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O) or undefined -> (N, O, Ho, Wo)
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), IntPair stride = 1,
              IntPair padding = 0);
// stride 0 means stride = kernel, as PyTorch's default.
Tensor max_pool2d(const Tensor& x, IntPair kernel, IntPair stride = 0, IntPair padding = 0);
// With dilation and groups (depthwise when groups == C): weight (O, C / groups, kh, kw).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, IntPair stride, IntPair padding,
              IntPair dilation, int64_t groups = 1);
// x: (N, C, L), weight: (O, C / groups, k) -> (N, O, Lo)
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);
Tensor max_pool2d(const Tensor& x, IntPair kernel, IntPair stride, IntPair padding, IntPair dilation,
                  bool ceil_mode = false);
// stride 0 means stride = kernel; padding at most half the kernel.
Tensor avg_pool2d(const Tensor& x, IntPair kernel, IntPair stride = 0, IntPair padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true);
// x: (N, C, H, W) or (C, H, W) -> (..., output_size.h, output_size.w)
Tensor adaptive_avg_pool2d(const Tensor& x, IntPair output_size);

// ---- normalisation and regularisation (core/ops/norm.cpp, core/ops/layer_norm.cpp) ----
// x: (N, C) or (N, C, H, W). running_mean/var (C) may be undefined (track_running_stats=false);
// weight/bias (C) may be undefined (affine=false). In training, running stats are updated in place.
Tensor batch_norm(const Tensor& x, Tensor running_mean, Tensor running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true, Generator& gen = default_generator());
// Zeroes whole channels: x (N, C, H, W) or (C, H, W), each (n, c) plane kept with probability 1 - p.
Tensor dropout2d(const Tensor& x, double p = 0.5, bool training = true, Generator& gen = default_generator());

// x: (N, *normalized_shape); weight and bias of normalized_shape, or undefined (no affine).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// x: (N, C, *) normalised over each of num_groups groups of C / num_groups channels; weight, bias (C).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
// input: int64 of any shape, weight (num_embeddings, D) -> (*input.shape, D). The row padding_idx
// (negative counts from the back) gets no gradient.
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

// ---- losses (core/ops/loss.cpp, core/ops/losses.cpp) ----
enum class Reduction { None, Mean, Sum };
// Options of nll_loss and cross_entropy, with PyTorch's defaults.
struct CrossEntropyOptions {
  EMBER_ARG(Tensor, weight);                          // (C) per-class weights, or undefined
  EMBER_ARG(int64_t, ignore_index) = -100;           // targets equal to it add nothing
  EMBER_ARG(Reduction, reduction) = Reduction::Mean;  // mean: divided by the summed weights of the targets
  EMBER_ARG(double, label_smoothing) = 0.0;         // cross_entropy only
};
using NllLossOptions = CrossEntropyOptions;
// log_probs / logits: (N, C), (N, C, d1, ...) or (C); target int64: (N), (N, d1, ...) or ().
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NllLossOptions& options = {});
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
// input: probabilities in [0, 1]; log terms clamped at -100, as PyTorch. weight broadcasts to input.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::Mean);
// pos_weight broadcasts along the last dim (one per class).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        Reduction reduction = Reduction::Mean, const Tensor& pos_weight = Tensor());

}  // namespace ember
