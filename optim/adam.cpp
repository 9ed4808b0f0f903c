#include "ember/optim/adam.h"

#include <cmath>

#include "ember/core/autograd.h"
#include "ember/optim/update.h"

namespace ember::optim {

void AdamOptions::check() const {
  EMBER_CHECK(lr() >= 0, "Invalid learning rate: ", short_float(lr()));
  EMBER_CHECK(eps() >= 0, "Invalid epsilon value: ", short_float(eps()));
  EMBER_CHECK(betas().first >= 0 && betas().first < 1, "Invalid beta parameter at index 0: ", short_float(betas().first));
  EMBER_CHECK(betas().second >= 0 && betas().second < 1, "Invalid beta parameter at index 1: ",
              short_float(betas().second));
  EMBER_CHECK(weight_decay() >= 0, "Invalid weight_decay value: ", short_float(weight_decay()));
}

Value::Dict AdamOptions::to_dict() const {
  Value::Dict d;
  d.insert("lr", lr());
  d.insert("betas", Value::list({betas().first, betas().second}));
  d.insert("eps", eps());
  d.insert("weight_decay", weight_decay());
  d.insert("amsgrad", amsgrad());
  d.insert("maximize", maximize());
  return d;
}

void AdamOptions::read(const Optimizer::GroupReader& r) {
  r.number("lr", lr_, 0);
  r.betas("betas", betas_);
  r.number("eps", eps_, 0);
  r.number("weight_decay", weight_decay_, 0);
  r.flag("amsgrad", amsgrad_);
  r.flag("maximize", maximize_);
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, defaults) {}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& defaults) : GroupedOptimizer(defaults) {
  add_groups(std::move(groups));
}

AdamW::AdamW(std::vector<Tensor> params, const AdamOptions& defaults)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, defaults) {}

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamOptions& defaults) : Adam(defaults, /*decoupled=*/true) {
  add_groups(std::move(groups));
}

std::vector<std::string> Adam::required_state(size_t g, const Value& group) const {
  std::vector<std::string> names = {"step", "exp_avg", "exp_avg_sq"};
  if (parse(g, group).amsgrad()) names.push_back("max_exp_avg_sq");
  return names;
}

void Adam::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const AdamOptions& o = options(g);
    o.check();
    const auto [beta1, beta2] = o.betas();
    const auto& ps = params(g);
    for (size_t i = 0; i < ps.size(); ++i) {
      Tensor p = ps[i];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      detail::check_grad(kind(), p, grad, g, i);
      OrderedDict<Tensor>& state = state_at(g, i);
      if (state.empty()) state.insert("step", scalar_tensor(0.0, kFloat32));
      Tensor exp_avg = detail::moment(state, "exp_avg", p);
      Tensor exp_avg_sq = detail::moment(state, "exp_avg_sq", p);
      double step = detail::advance_step(state);

      if (o.maximize()) grad = neg(grad);
      if (decoupled_) {
        p.mul_(1 - o.lr() * o.weight_decay());
      } else if (o.weight_decay() != 0) {
        grad = grad.clone();
        grad.add_(p, o.weight_decay());
      }
      exp_avg.mul_(beta1).add_(grad, 1 - beta1);
      exp_avg_sq.mul_(beta2);
      detail::addcmul_(exp_avg_sq, grad, grad, 1 - beta2);

      const double bias_correction1 = 1 - std::pow(beta1, step);
      const double bias_correction2 = 1 - std::pow(beta2, step);
      const double step_size = o.lr() / bias_correction1;
      const double bias_correction2_sqrt = std::sqrt(bias_correction2);
      Tensor second = exp_avg_sq;
      if (o.amsgrad()) {
        Tensor max_sq = detail::moment(state, "max_exp_avg_sq", p);
        detail::maximum_(max_sq, exp_avg_sq);
        second = max_sq;
      }
      Tensor denom = detail::sqrt(second);
      denom = div(denom, bias_correction2_sqrt);
      denom.add_(o.eps());
      detail::addcdiv_(p, exp_avg, denom, -step_size);
    }
  }
}

}  // namespace ember::optim
