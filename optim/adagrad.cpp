#include "ember/optim/adagrad.h"

#include "ember/core/autograd.h"
#include "ember/optim/update.h"

namespace ember::optim {

void AdagradOptions::check() const {
  EMBER_CHECK(lr() >= 0, "Invalid learning rate: ", short_float(lr()));
  EMBER_CHECK(lr_decay() >= 0, "Invalid lr_decay value: ", short_float(lr_decay()));
  EMBER_CHECK(weight_decay() >= 0, "Invalid weight_decay value: ", short_float(weight_decay()));
  EMBER_CHECK(initial_accumulator_value() >= 0, "Invalid initial_accumulator_value value: ",
              short_float(initial_accumulator_value()));
  EMBER_CHECK(eps() >= 0, "Invalid epsilon value: ", short_float(eps()));
}

Value::Dict AdagradOptions::to_dict() const {
  Value::Dict d;
  d.insert("lr", lr());
  d.insert("lr_decay", lr_decay());
  d.insert("eps", eps());
  d.insert("weight_decay", weight_decay());
  d.insert("initial_accumulator_value", initial_accumulator_value());
  d.insert("maximize", maximize());
  return d;
}

void AdagradOptions::read(const Optimizer::GroupReader& r) {
  r.number("lr", lr_, 0);
  r.number("lr_decay", lr_decay_, 0);
  r.number("eps", eps_, 0);
  r.number("weight_decay", weight_decay_, 0);
  r.number("initial_accumulator_value", initial_accumulator_value_, 0);
  r.flag("maximize", maximize_);
}

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, defaults) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, const AdagradOptions& defaults) : GroupedOptimizer(defaults) {
  add_groups(std::move(groups));
}

void Adagrad::on_group_added(size_t g) {
  const auto& ps = params(g);
  for (size_t i = 0; i < ps.size(); ++i) {
    OrderedDict<Tensor>& state = state_at(g, i);
    state.insert("step", scalar_tensor(0.0, kFloat32));
    state.insert("sum", full(ps[i].shape(), options(g).initial_accumulator_value(), ps[i].dtype(), ps[i].device()));
  }
}

void Adagrad::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const AdagradOptions& o = options(g);
    o.check();
    const auto& ps = params(g);
    for (size_t i = 0; i < ps.size(); ++i) {
      Tensor p = ps[i];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      detail::check_grad(kind(), p, grad, g, i);
      OrderedDict<Tensor>& state = state_at(g, i);
      if (!state.contains("sum"))
        state.insert("sum", full(p.shape(), o.initial_accumulator_value(), p.dtype(), p.device()));
      Tensor sum = detail::moment(state, "sum", p);
      double step = detail::advance_step(state);

      if (o.maximize()) grad = neg(grad);
      if (o.weight_decay() != 0) {
        grad = grad.clone();
        grad.add_(p, o.weight_decay());
      }
      const double clr = o.lr() / (1 + (step - 1) * o.lr_decay());
      detail::addcmul_(sum, grad, grad, 1);
      Tensor std_ = detail::sqrt(sum);
      std_.add_(o.eps());
      detail::addcdiv_(p, grad, std_, -clr);
    }
  }
}

}  // namespace ember::optim
