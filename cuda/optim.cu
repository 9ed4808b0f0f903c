// The fused SGD step: one launch updates every parameter of a list (and its momentum buffer), with
// torch.optim.SGD's rule in the order of the public-op update (optim/sgd.cpp, update()), rounding
// where they round (kernels.cuh), so a step gives the CPU's bits.
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace {

constexpr int kMaxTensors = 24;  // per launch: the table travels in the kernel's parameters

struct SgdTensor {
  void* param;
  const void* grad;
  void* buf;
  int64_t start;  // first element in the launch's flat numbering
  int64_t numel;
  int init;
};

struct SgdTable {
  SgdTensor t[kMaxTensors];
  int count;
  int64_t total;
};

template <class T>
struct SgdArgs {
  T lr_neg, momentum, one_minus_dampening, weight_decay;
  bool use_momentum, unit_dampening, use_weight_decay, nesterov, maximize, unit_lr;
};

template <class T>
__global__ void sgd_kernel(SgdTable table, SgdArgs<T> a) {
  using cuda::add_rn;
  using cuda::fma_rn;
  using cuda::mul_rn;
  EMBER_KERNEL_LOOP(i, table.total) {
    int j = 0;
    while (j + 1 < table.count && table.t[j + 1].start <= i) ++j;
    const SgdTensor& s = table.t[j];
    const int64_t e = i - s.start;
    T* p = static_cast<T*>(s.param);
    T d = static_cast<const T*>(s.grad)[e];
    if (a.maximize) d = mul_rn(d, T(-1));
    // Each line is one CPU kernel call: binary_scalar (mul_rn) or axpy (add_rn, or fma_rn as compiled).
    if (a.use_weight_decay) d = fma_rn(a.weight_decay, p[e], d);
    if (a.use_momentum) {
      T* buf = static_cast<T*>(s.buf);
      T b;
      if (s.init) {
        b = d;
      } else {
        b = mul_rn(buf[e], a.momentum);
        b = a.unit_dampening ? add_rn(b, d) : fma_rn(a.one_minus_dampening, d, b);
      }
      buf[e] = b;
      d = a.nesterov ? fma_rn(a.momentum, b, d) : b;
    }
    p[e] = a.unit_lr ? add_rn(p[e], d) : fma_rn(a.lr_neg, d, p[e]);
  }
}

template <class T>
void launch(cuda::Context& ctx, const SgdHyper& h, const std::vector<const SgdSlot*>& slots) {
  const SgdArgs<T> args{T(-h.lr), T(h.momentum), T(1.0 - h.dampening), T(h.weight_decay), h.momentum != 0,
                        1.0 - h.dampening == 1.0, h.weight_decay != 0, h.nesterov, h.maximize, -h.lr == 1.0};
  for (size_t first = 0; first < slots.size(); first += kMaxTensors) {
    SgdTable table{};
    int64_t total = 0;
    for (size_t k = first; k < slots.size() && table.count < kMaxTensors; ++k) {
      const SgdSlot& s = *slots[k];
      SgdTensor& t = table.t[table.count++];
      t.param = s.param.raw_data();
      t.grad = s.grad.raw_data();
      t.buf = s.momentum_buffer.defined() ? s.momentum_buffer.raw_data() : nullptr;
      t.start = total;
      t.numel = s.param.numel();
      t.init = s.init_buffer ? 1 : 0;
      total += t.numel;
    }
    table.total = total;
    if (total == 0) continue;
    sgd_kernel<T><<<cuda::grid_for(total), cuda::kThreads, 0, ctx.stream>>>(table, args);
    EMBER_CUDA_LAUNCHED("sgd_kernel");
  }
}

}  // namespace

void CudaBackend::sgd_step(const SgdHyper& hyper, const std::vector<SgdSlot>& slots) {
  cuda::Scope scope(*ctx_, "sgd_step");
  std::vector<const SgdSlot*> f32, f64;
  for (const SgdSlot& s : slots) {
    EMBER_CHECK(s.grad.numel() == s.param.numel() && s.grad.dtype() == s.param.dtype(),
                "sgd_step: a gradient of shape ", shape_str(s.grad.shape()), " (", dtype_name(s.grad.dtype()),
                ") for a parameter of shape ", shape_str(s.param.shape()), " (", dtype_name(s.param.dtype()), ")");
    EMBER_CHECK(hyper.momentum == 0 || s.momentum_buffer.defined(), "sgd_step: momentum without a momentum buffer");
    if (s.param.dtype() == kFloat32) f32.push_back(&s);
    else if (s.param.dtype() == kFloat64) f64.push_back(&s);
    else EMBER_FAIL("SGD: expected float32 or float64 parameters, found ", dtype_name(s.param.dtype()));
  }
  if (!f32.empty()) launch<float>(*ctx_, hyper, f32);
  if (!f64.empty()) launch<double>(*ctx_, hyper, f64);
}

}  // namespace ember
