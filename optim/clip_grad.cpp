#include "ember/optim/clip_grad.h"

#include <cmath>

#include "ember/core/autograd.h"
#include "ember/core/options.h"
#include "ember/optim/update.h"

namespace ember::optim {

namespace {
// |x|, exactly: one of relu(x), relu(-x) is 0.
Tensor abs_of(const Tensor& x) { return relu(x) + relu(neg(x)); }

// The norm of one gradient, of order p (p = INFINITY: the largest magnitude).
double grad_norm(const Tensor& g, double p) {
  Tensor a = abs_of(g.reshape({-1}));
  if (a.numel() == 0) return 0;
  if (std::isinf(p)) return a.at({int64_t(argmax(a, 0).item())});
  if (p == 0) return sum(detail::positive_mask(a)).item();
  if (p == 1) return sum(a).item();
  if (p == 2) return std::sqrt(sum(a * a).item());
  return std::pow(sum(exp(mul(log(a), p))).item(), 1.0 / p);  // |x|^p; log(0) = -inf gives 0
}
}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  EMBER_CHECK(norm_type >= 0, "clip_grad_norm_: norm_type must be >= 0 or INFINITY, found ", short_float(norm_type));
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0;
  std::vector<double> norms;
  for (const Tensor& g : grads) norms.push_back(grad_norm(g, norm_type));
  double total = 0;
  if (std::isinf(norm_type)) {
    for (double n : norms) total = std::isnan(n) || std::isnan(total) ? NAN : std::max(total, n);
  } else if (norm_type == 0 || norm_type == 1) {
    for (double n : norms) total += n;
  } else {
    for (double n : norms) total += std::pow(n, norm_type);
    total = std::pow(total, 1.0 / norm_type);
  }
  // Rounded to the gradients' precision, as PyTorch computes it in their dtype.
  if (grads[0].dtype() == kFloat32) total = double(float(total));
  EMBER_CHECK(!error_if_nonfinite || std::isfinite(total), "The total norm of order ", short_float(norm_type),
              " for gradients from `parameters` is non-finite, so it cannot be clipped. To disable this error and "
              "scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`");
  double coef = max_norm / (total + 1e-6);
  if (grads[0].dtype() == kFloat32) coef = double(float(max_norm) / (float(total) + 1e-6f));
  if (coef < 1 || std::isnan(coef))
    for (Tensor g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    // g = where(g > c, c, g), then where(g < -c, -c, g), each an exact blend with a 0/1 mask:
    // g * (1 - m) + c * m.
    Tensor hi = detail::positive_mask(sub(g, clip_value));     // g > c
    g.mul_(rsub(1.0, hi));
    g.add_(mul(hi, clip_value));
    Tensor lo = detail::positive_mask(rsub(-clip_value, g));   // g < -c
    g.mul_(rsub(1.0, lo));
    g.add_(mul(lo, -clip_value));
  }
}

}  // namespace ember::optim
