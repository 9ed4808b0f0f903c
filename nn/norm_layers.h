#pragma once
// LayerNorm, GroupNorm, Embedding and Dropout2d, with PyTorch's parameters, initialisation and
// printing. GroupNorm keeps no running statistics (no buffers), unlike BatchNorm.
#include <optional>
#include <string>

#include "ember/core/ops.h"
#include "ember/nn/module.h"
#include "ember/nn/options.h"

namespace ember::nn {

// ---- LayerNorm: x (*, normalized_shape) -> same ----
struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  EMBER_ARG(Shape, normalized_shape);
  EMBER_ARG(double, eps) = 1e-5;
  EMBER_ARG(bool, elementwise_affine) = true;  // weight (ones) and bias (zeros) of normalized_shape
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  Tensor forward(const Tensor& x) override { return layer_norm(x, options_.normalized_shape(), weight, bias, options_.eps()); }
  void reset_parameters();
  std::string name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Tensor weight, bias;  // normalized_shape; elementwise_affine only

 private:
  LayerNormOptions options_;
};

// ---- GroupNorm: x (N, C, *) -> same ----
struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels) : num_groups_(num_groups), num_channels_(num_channels) {}
  EMBER_ARG(int64_t, num_groups);
  EMBER_ARG(int64_t, num_channels);
  EMBER_ARG(double, eps) = 1e-5;
  EMBER_ARG(bool, affine) = true;
};

class GroupNorm : public Module {
 public:
  explicit GroupNorm(const GroupNormOptions& options);
  GroupNorm(int64_t num_groups, int64_t num_channels) : GroupNorm(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& x) override;
  void reset_parameters();
  std::string name() const override { return "GroupNorm"; }
  std::string extra_repr() const override;

  Tensor weight, bias;  // (C); affine only

 private:
  GroupNormOptions options_;
};

// ---- Embedding: int64 indices (*) -> (*, embedding_dim) ----
struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  EMBER_ARG(int64_t, num_embeddings);
  EMBER_ARG(int64_t, embedding_dim);
  EMBER_ARG(std::optional<int64_t>, padding_idx);  // that row starts at zero and gets no gradient
};

class Embedding : public Module {
 public:
  explicit Embedding(const EmbeddingOptions& options);
  Embedding(int64_t num_embeddings, int64_t embedding_dim) : Embedding(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  Tensor forward(const Tensor& indices) { return embedding(indices, weight, padding_idx_); }
  Tensor operator()(const Tensor& indices) { return forward(indices); }
  // weight ~ N(0, 1), the padding row zeroed, as PyTorch.
  void reset_parameters();
  std::string name() const override { return "Embedding"; }
  std::string extra_repr() const override;

  Tensor weight;  // (num_embeddings, embedding_dim)

 private:
  EmbeddingOptions options_;
  std::optional<int64_t> padding_idx_;  // wrapped to [0, num_embeddings)
};

// ---- Dropout2d: zeroes whole channels in training; identity in eval ----
class Dropout2d : public Module {
 public:
  explicit Dropout2d(double p = 0.5);
  Tensor forward(const Tensor& x) override { return dropout2d(x, p_, is_training()); }
  std::string name() const override { return "Dropout2d"; }
  std::string extra_repr() const override { return "p=" + py_float(p_) + ", inplace=False"; }

 private:
  double p_;
};

}  // namespace ember::nn
