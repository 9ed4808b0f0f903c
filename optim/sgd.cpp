#include "ember/optim/sgd.h"

#include <algorithm>

#include "ember/core/autograd.h"
#include "ember/core/backend.h"

namespace ember::optim {

void check_sgd_options(const SGDOptions& o) {
  EMBER_CHECK(o.lr() >= 0, "Invalid learning rate: ", short_float(o.lr()));
  EMBER_CHECK(o.momentum() >= 0, "Invalid momentum value: ", short_float(o.momentum()));
  EMBER_CHECK(o.weight_decay() >= 0, "Invalid weight_decay value: ", short_float(o.weight_decay()));
  EMBER_CHECK(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0),
              "Nesterov momentum requires a momentum and zero dampening");
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : SGD(std::vector<SGDParamGroup>{SGDParamGroup(std::move(params))}, defaults) {}

SGD::SGD(std::vector<SGDParamGroup> groups, const SGDOptions& defaults) : defaults_(defaults) {
  check_sgd_options(defaults);
  size_t total = 0;
  for (const auto& g : groups) total += g.params.size();
  EMBER_CHECK(total > 0, "optimizer got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

void SGD::add_param_group(SGDParamGroup group) {
  SGDOptions o = group.options.value_or(defaults_);
  check_sgd_options(o);
  add_group_params(std::move(group.params));
  options_.push_back(o);
}

SGDOptions& SGD::options(size_t group) {
  EMBER_CHECK(group < options_.size(), "SGD: parameter group ", group, " out of range (", options_.size(), " groups)");
  return options_[group];
}

double SGD::lr(size_t group) const {
  EMBER_CHECK(group < options_.size(), "SGD: parameter group ", group, " out of range (", options_.size(), " groups)");
  return options_[group].lr();
}
void SGD::set_lr(size_t group, double lr) { options(group).lr(lr); }

// Gathers each group's parameters that have a gradient and hands them to their device's backend in
// one call (the CUDA backend updates them all in one fused launch; the CPU runs the per-tensor
// kernels). Momentum buffers follow their parameters: one left on another device (the module was
// moved after a step) is moved over first.
void SGD::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const SGDOptions& o = options_[g];
    check_sgd_options(o);
    const SgdHyper hyper{o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), o.maximize()};
    std::vector<std::pair<Device, std::vector<SgdSlot>>> by_device;
    const auto& ps = params(g);
    for (size_t i = 0; i < ps.size(); ++i) {
      const Tensor& p = ps[i];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      EMBER_CHECK(grad.dtype() == p.dtype() && grad.device() == p.device(), "SGD: the gradient of parameter ", i,
                  " of group ", g, " is ", dtype_name(grad.dtype()), " on ", grad.device().str(),
                  ", the parameter is ", dtype_name(p.dtype()), " on ", p.device().str());
      SgdSlot slot{p, grad, Tensor(), false};
      if (o.momentum() != 0) {
        OrderedDict<Tensor>& state = state_at(g, i);
        Tensor* buf = state.find("momentum_buffer");
        if (!buf) {
          slot.momentum_buffer = state.insert("momentum_buffer", empty(grad.shape(), grad.dtype(), grad.device()));
          slot.init_buffer = true;
        } else {
          if (buf->device() != p.device()) *buf = buf->to(p.device());
          slot.momentum_buffer = *buf;
        }
      }
      auto it = std::find_if(by_device.begin(), by_device.end(), [&](const auto& e) { return e.first == p.device(); });
      if (it == by_device.end()) it = by_device.insert(by_device.end(), {p.device(), {}});
      it->second.push_back(std::move(slot));
    }
    for (const auto& [device, slots] : by_device) backend(device).sgd_step(hyper, slots);
  }
}

Value::Dict SGD::group_options(size_t g) const {
  const SGDOptions& o = options_[g];
  Value::Dict d;
  d.insert("lr", o.lr());
  d.insert("momentum", o.momentum());
  d.insert("dampening", o.dampening());
  d.insert("weight_decay", o.weight_decay());
  d.insert("nesterov", o.nesterov());
  d.insert("maximize", o.maximize());
  return d;
}

// Reads a loaded group (optimizer.h's GroupReader); keys it lacks keep `base`'s values. Extra keys
// (PyTorch's "foreach", "initial_lr") are ignored.
static SGDOptions parse_group(size_t g, const Value& group, const SGDOptions& base) {
  Optimizer::GroupReader r("SGD", g, group);
  double lr = base.lr(), momentum = base.momentum(), dampening = base.dampening(), wd = base.weight_decay();
  bool nesterov = base.nesterov(), maximize = base.maximize();
  r.number("lr", lr, 0);
  r.number("momentum", momentum, 0);
  r.number("dampening", dampening);
  r.number("weight_decay", wd, 0);
  r.flag("nesterov", nesterov);
  r.flag("maximize", maximize);
  SGDOptions o(lr);
  o.momentum(momentum).dampening(dampening).weight_decay(wd).nesterov(nesterov).maximize(maximize);
  check_sgd_options(o);
  return o;
}

void SGD::check_group_options(size_t g, const Value& group) const { parse_group(g, group, options_[g]); }

void SGD::set_group_options(size_t g, const Value& group) { options_[g] = parse_group(g, group, options_[g]); }

}  // namespace ember::optim
