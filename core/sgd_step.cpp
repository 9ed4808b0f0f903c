// sgd_step_per_tensor: torch.optim.SGD's update through the per-tensor kernels, in exactly
// the order optim/sgd.cpp used to call them one parameter at a time, so results stay bit-identical.
// The CUDA backend overrides it with one fused launch over all parameters (cuda/optim.cu).
#include "ember/core/backend.h"

namespace ember {

void sgd_step_per_tensor(Backend& b, const SgdHyper& h, const std::vector<SgdSlot>& slots) {
  for (const SgdSlot& s : slots) {
    // d_p is the gradient itself until something would change it; then a copy.
    Tensor d_p = s.grad;
    bool owned = false;
    auto own = [&] {
      if (owned) return;
      Tensor c = empty(d_p.shape(), d_p.dtype(), d_p.device());
      b.copy_within(c.raw_data(), d_p.raw_data(), d_p.nbytes());
      d_p = c;
      owned = true;
    };
    if (h.maximize) {
      own();
      b.binary_scalar(BinaryOp::Mul, d_p, -1.0, false, d_p);
    }
    if (h.weight_decay != 0) {
      own();
      b.axpy(h.weight_decay, s.param, d_p);
    }
    if (h.momentum != 0) {
      Tensor buf = s.momentum_buffer;
      if (s.init_buffer) {
        b.copy_within(buf.raw_data(), d_p.raw_data(), d_p.nbytes());
      } else {
        b.binary_scalar(BinaryOp::Mul, buf, h.momentum, false, buf);
        b.axpy(1.0 - h.dampening, d_p, buf);
      }
      if (h.nesterov) {
        own();
        b.axpy(h.momentum, buf, d_p);
      } else {
        d_p = buf;
      }
    }
    Tensor p = s.param;
    b.axpy(-h.lr, d_p, p);
  }
}

}  // namespace ember
