// conv2d through cuDNN (built with EMBER_CUDNN, used while cuda::cudnn_enabled()). Each shape gets a
// plan once: descriptors and the algorithms cuDNN's heuristics rank first among those allowed:
// float32 stays in FP32 (CUDNN_FMA_MATH, no TF32, as Ember's other kernels and its CPU reference),
// and under ember::set_deterministic(true) only algorithms cuDNN reports as deterministic.
// The bias gradient is Ember's own fixed-order reduction (conv.cu), not cuDNN's.
#include "ember/cuda/context.h"

#ifdef EMBER_WITH_CUDNN
#include <cudnn.h>

#include <climits>
#include <map>
#endif

namespace ember {

#ifndef EMBER_WITH_CUDNN

bool CudaBackend::cudnn_conv2d_forward(const Tensor&, const Tensor&, const Tensor&, const Conv2dArgs&, Tensor&) {
  return false;
}
bool CudaBackend::cudnn_conv2d_backward(const Tensor&, const Tensor&, const Tensor&, const Conv2dArgs&, Tensor&,
                                        Tensor&) {
  return false;
}

#else

namespace {

#define EMBER_CUDNN_CHECK(call)                                                                  \
  do {                                                                                           \
    cudnnStatus_t ember_st_ = (call);                                                            \
    EMBER_CHECK(ember_st_ == CUDNN_STATUS_SUCCESS, "cuDNN error in ", #call, ": ", cudnnGetErrorString(ember_st_)); \
  } while (0)

constexpr size_t kMaxWorkspace = size_t(1) << 30;

struct Plan {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  bool fwd_found = false, bwd_found = false;
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  cudnnConvolutionBwdDataAlgo_t data_algo{};
  cudnnConvolutionBwdFilterAlgo_t filter_algo{};
  cudnnMathType_t fwd_math{}, data_math{}, filter_math{};
  size_t fwd_ws = 0, data_ws = 0, filter_ws = 0;
  ~Plan() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
  }
};

// N, C, H, W, O, kh, kw, sh, sw, ph, pw, dtype, deterministic
using PlanKey = std::array<int64_t, 13>;
using PlanCache = std::map<PlanKey, std::unique_ptr<Plan>>;

int as_int(int64_t v) {
  EMBER_CHECK(v >= 0 && v <= INT_MAX, "conv2d (cuDNN): size ", v, " does not fit cuDNN's 32-bit sizes");
  return int(v);
}

cudnnHandle_t cudnn_handle(cuda::Context& ctx) {
  std::lock_guard<std::mutex> lock(ctx.handle_mutex);
  if (!ctx.cudnn) {
    cudnnHandle_t h = nullptr;
    cudnnStatus_t st = cudnnCreate(&h);
    EMBER_CHECK(st == CUDNN_STATUS_SUCCESS, "cuDNN could not start on cuda:", ctx.device, " (",
                cudnnGetErrorString(st), "); run with EMBER_CUDNN=0 or call ember::cuda::set_cudnn_enabled(false) ",
                "to use Ember's own conv2d kernels");
    EMBER_CUDNN_CHECK(cudnnSetStream(h, ctx.stream));
    ctx.cudnn = h;
    ctx.cudnn_plans = std::make_shared<PlanCache>();
  }
  return ctx.cudnn;
}

// float32 may not use tensor cores (TF32); float64 may (their FP64 math is exact IEEE).
bool math_allowed(cudnnMathType_t math, bool is_float) {
  return !is_float || math == CUDNN_FMA_MATH;
}

template <class Perf>
const Perf* choose(const Perf* perf, int count, bool is_float) {
  const bool det = cuda::host_deterministic();
  for (int i = 0; i < count; ++i) {
    const Perf& p = perf[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.memory > kMaxWorkspace) continue;
    if (det && p.determinism != CUDNN_DETERMINISTIC) continue;
    if (!math_allowed(p.mathType, is_float)) continue;
    return &p;
  }
  return nullptr;
}

Plan& plan_for(cuda::Context& ctx, const Tensor& x, const Tensor& w, const Conv2dArgs& a) {
  cudnnHandle_t h = cudnn_handle(ctx);
  std::lock_guard<std::mutex> lock(ctx.handle_mutex);  // map nodes are stable: the reference outlives it
  auto& cache = *static_cast<PlanCache*>(ctx.cudnn_plans.get());
  const PlanKey key{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3),
                    a.stride.h, a.stride.w, a.padding.h, a.padding.w, int64_t(x.dtype()), cuda::host_deterministic() ? 1 : 0};
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;

  auto plan = std::make_unique<Plan>();
  const bool is_float = x.dtype() == kFloat32;
  const cudnnDataType_t dt = is_float ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
  const int n = as_int(x.size(0)), c = as_int(x.size(1)), hh = as_int(x.size(2)), ww = as_int(x.size(3));
  const int o = as_int(w.size(0)), kh = as_int(w.size(2)), kw = as_int(w.size(3));
  const int ho = as_int((x.size(2) + 2 * a.padding.h - w.size(2)) / a.stride.h + 1);
  const int wo = as_int((x.size(3) + 2 * a.padding.w - w.size(3)) / a.stride.w + 1);
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->x));
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->y));
  EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&plan->bias));
  EMBER_CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w));
  EMBER_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->x, CUDNN_TENSOR_NCHW, dt, n, c, hh, ww));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->y, CUDNN_TENSOR_NCHW, dt, n, o, ho, wo));
  EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(plan->bias, CUDNN_TENSOR_NCHW, dt, 1, o, 1, 1));
  EMBER_CUDNN_CHECK(cudnnSetFilter4dDescriptor(plan->w, dt, CUDNN_TENSOR_NCHW, o, c, kh, kw));
  EMBER_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(plan->conv, as_int(a.padding.h), as_int(a.padding.w),
                                                    as_int(a.stride.h), as_int(a.stride.w), 1, 1,
                                                    CUDNN_CROSS_CORRELATION, dt));
  EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, is_float ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));

  constexpr int kMaxAlgos = 16;
  int found = 0;
  cudnnConvolutionFwdAlgoPerf_t fwd[kMaxAlgos];
  EMBER_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, plan->x, plan->w, plan->conv, plan->y, kMaxAlgos,
                                                           &found, fwd));
  if (const auto* p = choose(fwd, found, is_float)) {
    plan->fwd_found = true;
    plan->fwd_algo = p->algo;
    plan->fwd_math = p->mathType;
    plan->fwd_ws = p->memory;
  }
  cudnnConvolutionBwdDataAlgoPerf_t data[kMaxAlgos];
  EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, plan->w, plan->y, plan->conv, plan->x, kMaxAlgos,
                                                                &found, data));
  const auto* pd = choose(data, found, is_float);
  cudnnConvolutionBwdFilterAlgoPerf_t filter[kMaxAlgos];
  EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, plan->x, plan->y, plan->conv, plan->w,
                                                                  kMaxAlgos, &found, filter));
  const auto* pf = choose(filter, found, is_float);
  if (pd && pf) {
    plan->bwd_found = true;
    plan->data_algo = pd->algo;
    plan->data_math = pd->mathType;
    plan->data_ws = pd->memory;
    plan->filter_algo = pf->algo;
    plan->filter_math = pf->mathType;
    plan->filter_ws = pf->memory;
  }
  Plan& ref = *plan;
  cache.emplace(key, std::move(plan));
  return ref;
}

// cuDNN's scaling factors: float for float data, double for double.
struct Scale {
  float f;
  double d;
  const void* of(bool is_float) const { return is_float ? static_cast<const void*>(&f) : static_cast<const void*>(&d); }
};
constexpr Scale kOne{1.0f, 1.0}, kZero{0.0f, 0.0};

}  // namespace

// x: (N, C, H, W), w: (O, C, kh, kw), b: (O) or undefined -> y: (N, O, Ho, Wo)
bool CudaBackend::cudnn_conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dArgs& args,
                                       Tensor& y) {
  if (!cuda::cudnn_enabled()) return false;
  Plan& plan = plan_for(*ctx_, x, w, args);
  if (!plan.fwd_found) return false;  // no allowed algorithm for this shape: Ember's own kernels
  cudnnHandle_t h = ctx_->cudnn;
  const bool is_float = x.dtype() == kFloat32;
  EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.fwd_math));
  cuda::Scratch ws(*ctx_, plan.fwd_ws);
  EMBER_CUDNN_CHECK(cudnnConvolutionForward(h, kOne.of(is_float), plan.x, x.raw_data(), plan.w, w.raw_data(), plan.conv,
                                            plan.fwd_algo, ws.as<void>(), plan.fwd_ws, kZero.of(is_float), plan.y,
                                            y.raw_data()));
  if (b.defined())
    EMBER_CUDNN_CHECK(cudnnAddTensor(h, kOne.of(is_float), plan.bias, b.raw_data(), kOne.of(is_float), plan.y,
                                     y.raw_data()));
  return true;
}

// grad_y: (N, O, Ho, Wo) -> grad_x: (N, C, H, W), grad_w: (O, C, kh, kw); either may be undefined
bool CudaBackend::cudnn_conv2d_backward(const Tensor& grad_y, const Tensor& x, const Tensor& w, const Conv2dArgs& args,
                                        Tensor& grad_x, Tensor& grad_w) {
  if (!cuda::cudnn_enabled()) return false;
  Plan& plan = plan_for(*ctx_, x, w, args);
  if (!plan.bwd_found) return false;
  cudnnHandle_t h = ctx_->cudnn;
  const bool is_float = x.dtype() == kFloat32;
  if (grad_w.defined()) {
    EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.filter_math));
    cuda::Scratch ws(*ctx_, plan.filter_ws);
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, kOne.of(is_float), plan.x, x.raw_data(), plan.y,
                                                     grad_y.raw_data(), plan.conv, plan.filter_algo, ws.as<void>(),
                                                     plan.filter_ws, kZero.of(is_float), plan.w, grad_w.raw_data()));
  }
  if (grad_x.defined()) {
    EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(plan.conv, plan.data_math));
    cuda::Scratch ws(*ctx_, plan.data_ws);
    EMBER_CUDNN_CHECK(cudnnConvolutionBackwardData(h, kOne.of(is_float), plan.w, w.raw_data(), plan.y,
                                                   grad_y.raw_data(), plan.conv, plan.data_algo, ws.as<void>(),
                                                   plan.data_ws, kZero.of(is_float), plan.x, grad_x.raw_data()));
  }
  return true;
}

#endif  // EMBER_WITH_CUDNN

}  // namespace ember
