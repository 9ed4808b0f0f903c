#include "ember/optim/rmsprop.h"

#include "ember/core/autograd.h"
#include "ember/optim/update.h"

namespace ember::optim {

// ---- RMSprop ----

void RMSpropOptions::check() const {
  EMBER_CHECK(lr() >= 0, "Invalid learning rate: ", short_float(lr()));
  EMBER_CHECK(eps() >= 0, "Invalid epsilon value: ", short_float(eps()));
  EMBER_CHECK(momentum() >= 0, "Invalid momentum value: ", short_float(momentum()));
  EMBER_CHECK(weight_decay() >= 0, "Invalid weight_decay value: ", short_float(weight_decay()));
  EMBER_CHECK(alpha() >= 0, "Invalid alpha value: ", short_float(alpha()));
}

Value::Dict RMSpropOptions::to_dict() const {
  Value::Dict d;
  d.insert("lr", lr());
  d.insert("momentum", momentum());
  d.insert("alpha", alpha());
  d.insert("eps", eps());
  d.insert("centered", centered());
  d.insert("weight_decay", weight_decay());
  d.insert("maximize", maximize());
  return d;
}

void RMSpropOptions::read(const Optimizer::GroupReader& r) {
  r.number("lr", lr_, 0);
  r.number("momentum", momentum_, 0);
  r.number("alpha", alpha_, 0);
  r.number("eps", eps_, 0);
  r.flag("centered", centered_);
  r.number("weight_decay", weight_decay_, 0);
  r.flag("maximize", maximize_);
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults)
    : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, defaults) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, const RMSpropOptions& defaults) : GroupedOptimizer(defaults) {
  add_groups(std::move(groups));
}

std::vector<std::string> RMSprop::required_state(size_t g, const Value& group) const {
  RMSpropOptions o = parse(g, group);
  std::vector<std::string> names = {"step", "square_avg"};
  if (o.momentum() > 0) names.push_back("momentum_buffer");
  if (o.centered()) names.push_back("grad_avg");
  return names;
}

void RMSprop::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const RMSpropOptions& o = options(g);
    o.check();
    const auto& ps = params(g);
    for (size_t i = 0; i < ps.size(); ++i) {
      Tensor p = ps[i];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      detail::check_grad(kind(), p, grad, g, i);
      OrderedDict<Tensor>& state = state_at(g, i);
      if (state.empty()) state.insert("step", scalar_tensor(0.0, kFloat32));
      Tensor square_avg = detail::moment(state, "square_avg", p);
      detail::advance_step(state);

      if (o.maximize()) grad = neg(grad);
      if (o.weight_decay() != 0) {
        grad = grad.clone();
        grad.add_(p, o.weight_decay());
      }
      square_avg.mul_(o.alpha());
      detail::addcmul_(square_avg, grad, grad, 1 - o.alpha());
      Tensor avg;
      if (o.centered()) {
        Tensor grad_avg = detail::moment(state, "grad_avg", p);
        grad_avg.mul_(o.alpha()).add_(grad, 1 - o.alpha());
        avg = square_avg.clone();
        detail::addcmul_(avg, grad_avg, grad_avg, -1);
        avg = detail::sqrt(avg);
      } else {
        avg = detail::sqrt(square_avg);
      }
      avg.add_(o.eps());
      if (o.momentum() > 0) {
        Tensor buf = detail::moment(state, "momentum_buffer", p);
        buf.mul_(o.momentum());
        detail::addcdiv_(buf, grad, avg, 1);
        p.add_(buf, -o.lr());
      } else {
        detail::addcdiv_(p, grad, avg, -o.lr());
      }
    }
  }
}

}  // namespace ember::optim
