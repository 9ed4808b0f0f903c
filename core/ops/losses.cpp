// The general losses: nll_loss and cross_entropy with class weights, ignore_index, reduction,
// label smoothing and the K-dimensional (N, C, d1, ...) form; mse, l1, binary cross-entropy (on
// probabilities and on logits). Composed from the general ops; the plain (N, C) mean case of
// nll_loss keeps the fused kernels of core/ops/loss.cpp.
#include "ember/core/ops/common.h"

namespace ember {

using detail::check_float;
using detail::check_same;

namespace {
Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  return loss;
}

// The loss's inputs flattened to rows: lp (M, C) and target (M), with the target's shape kept.
struct ClassRows {
  Tensor lp, target;
  Shape target_shape;
  int64_t C = 0;
};

// input (N, C, d1, ...) or (C) and an int64 target (N, d1, ...) or () on its device.
void check_class_target(const Tensor& input, const Tensor& target, const char* op, const char* what) {
  check_float(input, op, what);
  target.check_defined(op);
  EMBER_CHECK(target.dtype() == kInt64, op, ": expected an int64 target, found ", dtype_name(target.dtype()));
  EMBER_CHECK(target.device() == input.device(), op, ": expected the target on ", input.device().str(),
              " (the input's), found ", target.device().str());
  EMBER_CHECK(input.dim() >= 1, op, ": expected ", what, " of shape (N, C), (N, C, d1, ...) or (C), found a 0-d",
              " tensor");
  Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
  EMBER_CHECK(x.size(1) >= 1, op, ": expected at least one class, found ", what, " of shape ",
              shape_str(input.shape()));
  Shape expected{x.size(0)};
  for (int64_t d = 2; d < x.dim(); ++d) expected.push_back(x.size(d));
  if (input.dim() == 1) expected.clear();
  EMBER_CHECK(target.shape() == expected, op, ": expected a target of shape ", shape_str(expected), " for ", what,
              " of shape ", shape_str(input.shape()), ", found ", shape_str(target.shape()));
}

ClassRows class_rows(const Tensor& input, const Tensor& target, const char* op, const char* what) {
  check_class_target(input, target, op, what);
  Tensor x = input.dim() == 1 ? input.unsqueeze(0) : input;
  ClassRows r;
  r.C = x.size(1);
  r.target_shape = target.shape();
  if (x.dim() > 2) {  // (N, C, d1, ...) -> (N, d1, ..., C) -> (M, C)
    std::vector<int64_t> perm{0};
    for (int64_t d = 2; d < x.dim(); ++d) perm.push_back(d);
    perm.push_back(1);
    x = permute(x, perm);
  }
  r.lp = x.reshape({-1, r.C});
  r.target = target.reshape({-1});
  return r;
}

void check_weight(const Tensor& weight, const Tensor& input, int64_t C, const char* op) {
  if (!weight.defined()) return;
  check_float(weight, op, "weight");
  check_same(input, weight, op, "the input", "weight");
  EMBER_CHECK(weight.dim() == 1 && weight.size(0) == C, op, ": expected a weight of shape [", C,
              "] (one per class), found ", shape_str(weight.shape()));
}

// Throws on a target outside [0, C) other than ignore_index; returns whether any target is ignored.
bool check_targets(const Tensor& target, int64_t C, int64_t ignore_index, const char* op) {
  auto t = target.to_vector<int64_t>();
  bool ignored = false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ignore_index) {
      ignored = true;
      continue;
    }
    EMBER_CHECK(t[i] >= 0 && t[i] < C, op, ": target ", t[i], " at index ", i, " is out of range [0, ", C, ")");
  }
  return ignored;
}
}  // namespace

namespace {
// The whole loss as one op for an exporter (ONNX has the two losses as operators; tracing their
// parts would bake in which targets this batch ignores).
Tensor traced_loss(const char* name, const Tensor& input, const Tensor& target, const CrossEntropyOptions& o,
                   const Tensor& out) {
  if (trace::active())
    trace::op(name, {input, target, o.weight()}, out,
              {trace::Attr::i("ignore_index", o.ignore_index()), trace::Attr::i("reduction", int64_t(o.reduction())),
               trace::Attr::fl("label_smoothing", o.label_smoothing())});
  return out;
}

Tensor nll_loss_parts(const Tensor& log_probs, const Tensor& target, const NllLossOptions& o) {
  ClassRows r = class_rows(log_probs, target, "nll_loss", "log-probabilities");
  check_weight(o.weight(), log_probs, r.C, "nll_loss");
  EMBER_CHECK(o.label_smoothing() == 0.0, "nll_loss: label_smoothing is an option of cross_entropy, found ",
              o.label_smoothing());
  bool ignored = check_targets(r.target, r.C, o.ignore_index(), "nll_loss");
  if (!ignored && !o.weight().defined() && o.reduction() == Reduction::Mean && log_probs.dim() == 2)
    return detail::nll_loss_fused(log_probs, target);
  Tensor valid = ne(r.target, double(o.ignore_index()));
  Tensor safe = where(valid, r.target, zeros({}, kInt64, r.target.device()));
  Tensor picked = gather(r.lp, 1, safe.unsqueeze(1)).squeeze(1);  // (M)
  Tensor w = o.weight().defined() ? index_select(o.weight(), 0, safe) : ones_like(picked);
  w = where(valid, w, 0.0);
  Tensor losses = neg(mul(picked, w));
  switch (o.reduction()) {
    case Reduction::None: return losses.reshape(r.target_shape);
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean: return div(sum(losses), sum(w));  // all ignored: 0 / 0 = NaN, as PyTorch
  }
  return losses;
}

Tensor cross_entropy_parts(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& o) {
  check_class_target(logits, target, "cross_entropy", "logits");
  double eps = o.label_smoothing();
  EMBER_CHECK(eps >= 0.0 && eps <= 1.0, "cross_entropy: label_smoothing must be between 0.0 and 1.0, found ", eps);
  int64_t class_dim = logits.dim() == 1 ? 0 : 1;
  Tensor lp = log_softmax(logits, class_dim);
  Tensor nll = nll_loss(lp, target, CrossEntropyOptions(o).label_smoothing(0.0));
  if (eps == 0.0) return nll;
  // The smoothed part, as PyTorch's: -sum_c w_c log p_c per element, masked like the targets.
  ClassRows r = class_rows(lp, target, "cross_entropy", "logits");
  Tensor per_class = o.weight().defined() ? mul(r.lp, o.weight()) : r.lp;
  Tensor valid = ne(r.target, double(o.ignore_index()));
  Tensor smooth = where(valid, neg(sum(per_class, 1)), 0.0);  // (M)
  Tensor s;
  switch (o.reduction()) {
    case Reduction::None: s = smooth.reshape(r.target_shape); break;
    case Reduction::Sum: s = sum(smooth); break;
    case Reduction::Mean: {
      Tensor denom;
      if (o.weight().defined()) {
        Tensor safe = where(valid, r.target, zeros({}, kInt64, r.target.device()));
        denom = sum(where(valid, index_select(o.weight().detach(), 0, safe), 0.0));
      } else {
        denom = sum(valid.to(smooth.dtype()));
      }
      s = div(sum(smooth), denom);
      break;
    }
  }
  return add(mul(nll, 1.0 - eps), mul(s, eps / double(r.C)));
}
}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NllLossOptions& o) {
  return traced_loss("nll_loss", log_probs, target, o, nll_loss_parts(log_probs, target, o));
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& o) {
  return traced_loss("cross_entropy", logits, target, o, cross_entropy_parts(logits, target, o));
}


namespace {
void check_pair(const Tensor& input, const Tensor& target, const char* op) {
  check_float(input, op, "the input");
  check_float(target, op, "the target");
  check_same(input, target, op, "the input", "the target");
}
}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair(input, target, "mse_loss");
  Tensor d = sub(input, target);
  return reduce(mul(d, d), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair(input, target, "l1_loss");
  return reduce(abs(sub(input, target)), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction reduction) {
  check_pair(input, target, "binary_cross_entropy");
  EMBER_CHECK(input.shape() == target.shape(), "binary_cross_entropy: expected a target of the input's shape ",
              shape_str(input.shape()), ", found ", shape_str(target.shape()));
  {
    NoGradGuard no_grad;
    Tensor outside = add(lt(input, 0.0).to(kInt64), gt(input, 1.0).to(kInt64));
    EMBER_CHECK(input.numel() == 0 || max(outside.to(kFloat64)).item() == 0.0,
                "binary_cross_entropy: all elements of the input should be between 0 and 1");
  }
  // log terms clamped at -100 so that a probability of exactly 0 or 1 gives a finite loss
  Tensor loss;
  {
    NoGradGuard no_grad;
    Tensor log_p = clamp(log(input), -100.0), log_q = clamp(log(rsub(1.0, input)), -100.0);
    loss = neg(add(mul(target, log_p), mul(rsub(1.0, target), log_q)));
  }
  // PyTorch's gradients: d/dx = (x - t) / max(x (1 - x), 1e-12), finite where x is exactly 0 or 1
  // (through the clamped logs it would be 0 * inf = NaN there), and d/dt = log(1 - x) - log(x),
  // unclamped as PyTorch's (infinite at 0 and 1).
  if (trace::active()) trace::op("binary_cross_entropy", {input, target}, loss, {});
  loss = record("binary_cross_entropy", loss, {input, target},
                [x = input.detach(), t = target.detach()](const Tensor& g) -> std::vector<Tensor> {
                  Tensor denom = clamp(mul(x, rsub(1.0, x)), 1e-12);
                  return {div(mul(g, sub(x, t)), denom), mul(g, sub(log(rsub(1.0, x)), log(x)))};
                });
  if (weight.defined()) {
    check_pair(input, weight, "binary_cross_entropy");
    loss = mul(loss, weight);
  }
  return reduce(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        Reduction reduction, const Tensor& pos_weight) {
  check_pair(input, target, "binary_cross_entropy_with_logits");
  EMBER_CHECK(input.shape() == target.shape(),
              "binary_cross_entropy_with_logits: expected a target of the input's shape ", shape_str(input.shape()),
              ", found ", shape_str(target.shape()));
  // (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x): log(sigmoid) without overflow
  Tensor sp = softplus(neg(input));
  if (pos_weight.defined()) {
    check_pair(input, pos_weight, "binary_cross_entropy_with_logits");
    sp = mul(add(mul(sub(pos_weight, 1.0), target), 1.0), sp);
  }
  Tensor loss = add(mul(rsub(1.0, target), input), sp);
  if (weight.defined()) {
    check_pair(input, weight, "binary_cross_entropy_with_logits");
    loss = mul(loss, weight);
  }
  return reduce(loss, reduction);
}

}  // namespace ember
