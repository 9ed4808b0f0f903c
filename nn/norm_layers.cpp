// LayerNorm, GroupNorm, Embedding, Dropout2d, GELU and the loss modules.
#include "ember/nn/activation.h"
#include "ember/nn/init.h"
#include "ember/nn/loss.h"
#include "ember/nn/norm_layers.h"

namespace ember::nn {

namespace {
// PyTorch prints a normalized_shape as a tuple: (4,) or (3, 4).
std::string tuple_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out.append(i ? ", " : "").append(std::to_string(s[i]));
  return out.append(s.size() == 1 ? ",)" : ")");
}
}  // namespace

LayerNorm::LayerNorm(const LayerNormOptions& o) : options_(o) {
  EMBER_CHECK(!o.normalized_shape().empty(), "LayerNorm: normalized_shape must not be empty");
  for (int64_t d : o.normalized_shape())
    EMBER_CHECK(d > 0, "LayerNorm: normalized_shape must be positive, found ", shape_str(o.normalized_shape()));
  EMBER_CHECK(o.eps() > 0, "LayerNorm: eps must be positive, found ", short_float(o.eps()));
  if (o.elementwise_affine()) {
    weight = register_parameter("weight", empty(o.normalized_shape()));
    bias = register_parameter("bias", empty(o.normalized_shape()));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (!weight.defined()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

std::string LayerNorm::extra_repr() const {
  return tuple_str(options_.normalized_shape()) + ", eps=" + py_float(options_.eps()) +
         ", elementwise_affine=" + (options_.elementwise_affine() ? "True" : "False");
}

GroupNorm::GroupNorm(const GroupNormOptions& o) : options_(o) {
  EMBER_CHECK(o.num_groups() > 0 && o.num_channels() > 0 && o.num_channels() % o.num_groups() == 0,
              "GroupNorm: num_channels must be divisible by num_groups, found num_channels ", o.num_channels(),
              " and num_groups ", o.num_groups());
  EMBER_CHECK(o.eps() > 0, "GroupNorm: eps must be positive, found ", short_float(o.eps()));
  if (o.affine()) {
    weight = register_parameter("weight", empty({o.num_channels()}));
    bias = register_parameter("bias", empty({o.num_channels()}));
  }
  reset_parameters();
}

void GroupNorm::reset_parameters() {
  if (!weight.defined()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNorm::forward(const Tensor& x) {
  x.check_defined("GroupNorm");
  EMBER_CHECK(x.dim() >= 2 && x.size(1) == options_.num_channels(), "GroupNorm: expected input of shape (N, ",
              options_.num_channels(), ", *), found ", shape_str(x.shape()));
  return group_norm(x, options_.num_groups(), weight, bias, options_.eps());
}

std::string GroupNorm::extra_repr() const {
  return std::to_string(options_.num_groups()) + ", " + std::to_string(options_.num_channels()) +
         ", eps=" + py_float(options_.eps()) + ", affine=" + (options_.affine() ? "True" : "False");
}

Embedding::Embedding(const EmbeddingOptions& o) : options_(o) {
  EMBER_CHECK(o.num_embeddings() > 0, "Embedding: num_embeddings must be positive, found ", o.num_embeddings());
  EMBER_CHECK(o.embedding_dim() > 0, "Embedding: embedding_dim must be positive, found ", o.embedding_dim());
  if (o.padding_idx()) {
    int64_t p = *o.padding_idx(), n = o.num_embeddings();
    EMBER_CHECK(p >= -n && p < n, "Embedding: padding_idx must be within num_embeddings (", n, "), found ", p);
    padding_idx_ = p < 0 ? p + n : p;
  }
  weight = register_parameter("weight", empty({o.num_embeddings(), o.embedding_dim()}));
  reset_parameters();
}

void Embedding::reset_parameters() {
  init::normal_(weight);
  if (padding_idx_) {
    NoGradGuard no_grad;
    weight.slice(*padding_idx_, *padding_idx_ + 1).zero_();
  }
}

std::string Embedding::extra_repr() const {
  std::string s = std::to_string(options_.num_embeddings()) + ", " + std::to_string(options_.embedding_dim());
  if (padding_idx_) s += ", padding_idx=" + std::to_string(*padding_idx_);
  return s;
}

Dropout2d::Dropout2d(double p) : p_(p) {
  EMBER_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", short_float(p));
}

GELU::GELU(std::string approximate) : approximate_(std::move(approximate)) {
  EMBER_CHECK(approximate_ == "none" || approximate_ == "tanh",
              "GELU: approximate must be 'none' or 'tanh', found '", approximate_, "'");
}

// ---- losses: weights are buffers, as PyTorch registers them ----
BCELoss::BCELoss(const Tensor& w, Reduction reduction) : reduction_(reduction) {
  if (w.defined()) weight = register_buffer("weight", w.detach().clone());
}

BCEWithLogitsLoss::BCEWithLogitsLoss(const Tensor& w, Reduction reduction, const Tensor& pw) : reduction_(reduction) {
  if (w.defined()) weight = register_buffer("weight", w.detach().clone());
  if (pw.defined()) pos_weight = register_buffer("pos_weight", pw.detach().clone());
}

NLLLoss::NLLLoss(const NllLossOptions& o) : options_(o) {
  if (o.weight().defined()) weight = register_buffer("weight", o.weight().detach().clone());
}

CrossEntropyLoss::CrossEntropyLoss(const CrossEntropyOptions& o) : options_(o) {
  if (o.weight().defined()) weight = register_buffer("weight", o.weight().detach().clone());
}

}  // namespace ember::nn
