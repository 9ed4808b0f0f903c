#include "ember/optim/sgd.h"

#include <algorithm>
#include <utility>

#include "ember/core/autograd.h"
#include "ember/core/backend.h"  // the optional fused-SGD extension (Backend::fused_sgd)
#include "ember/optim/update.h"

namespace ember::optim {

void SGDOptions::check() const {
  EMBER_CHECK(lr() >= 0, "Invalid learning rate: ", short_float(lr()));
  EMBER_CHECK(momentum() >= 0, "Invalid momentum value: ", short_float(momentum()));
  EMBER_CHECK(weight_decay() >= 0, "Invalid weight_decay value: ", short_float(weight_decay()));
  EMBER_CHECK(!nesterov() || (momentum() > 0 && dampening() == 0),
              "Nesterov momentum requires a momentum and zero dampening");
}

Value::Dict SGDOptions::to_dict() const {
  Value::Dict d;
  d.insert("lr", lr());
  d.insert("momentum", momentum());
  d.insert("dampening", dampening());
  d.insert("weight_decay", weight_decay());
  d.insert("nesterov", nesterov());
  d.insert("maximize", maximize());
  return d;
}

// Keys a loaded group lacks keep their values; extra keys (PyTorch's "foreach", "initial_lr") are ignored.
void SGDOptions::read(const Optimizer::GroupReader& r) {
  r.number("lr", lr_, 0);
  r.number("momentum", momentum_, 0);
  r.number("dampening", dampening_);
  r.number("weight_decay", weight_decay_, 0);
  r.flag("nesterov", nesterov_);
  r.flag("maximize", maximize_);
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, defaults) {}

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& defaults) : GroupedOptimizer(defaults) {
  add_groups(std::move(groups));
}

namespace {
// torch.optim.SGD's update of one parameter (optim/sgd.h), in place on p and on the momentum
// buffer `buf` (undefined when momentum is 0; on the first step it receives the gradient).
void update(const SGDOptions& o, Tensor p, const Tensor& grad, Tensor buf, bool first) {
  Tensor d_p = grad;  // the gradient itself until something would change it; then a copy
  bool owned = false;
  auto own = [&] {
    if (!owned) d_p = d_p.clone();
    owned = true;
  };
  if (o.maximize()) {
    own();
    d_p.mul_(-1.0);
  }
  if (o.weight_decay() != 0) {
    own();
    d_p.add_(p, o.weight_decay());
  }
  if (o.momentum() != 0) {
    if (first) {
      buf.copy_(d_p);
    } else {
      buf.mul_(o.momentum());
      buf.add_(d_p, 1.0 - o.dampening());
    }
    if (o.nesterov()) {
      own();
      d_p.add_(buf, o.momentum());
    } else {
      d_p = buf;
    }
  }
  p.add_(d_p, -o.lr());
}
}  // namespace

// Momentum buffers follow their parameters: one left on another device (the module was moved after
// a step) is moved over first.
void SGD::step() {
  NoGradGuard no_grad;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    const SGDOptions& o = options(g);
    o.check();
    std::vector<std::pair<FusedSgd*, std::vector<SgdSlot>>> fused;  // per backend that has the kernel
    const auto& ps = params(g);
    for (size_t i = 0; i < ps.size(); ++i) {
      const Tensor& p = ps[i];
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      detail::check_grad(kind(), p, grad, g, i);
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
      FusedSgd* kernel = backend(p.device()).fused_sgd();
      if (!kernel) {
        update(o, p, grad, slot.momentum_buffer, slot.init_buffer);
        continue;
      }
      auto it = std::find_if(fused.begin(), fused.end(), [&](const auto& e) { return e.first == kernel; });
      if (it == fused.end()) it = fused.insert(fused.end(), {kernel, {}});
      it->second.push_back(std::move(slot));
    }
    const SgdHyper hyper{o.lr(), o.momentum(), o.dampening(), o.weight_decay(), o.nesterov(), o.maximize()};
    for (const auto& [kernel, slots] : fused) kernel->sgd_step(hyper, slots);
  }
}

}  // namespace ember::optim
