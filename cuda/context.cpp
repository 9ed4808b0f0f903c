// The CUDA side of the backend registry (cuda::device_backend, cuda::visible_device_count), each device's
// Context, kernel-reported errors, the profiler, and the cuda:: functions of cuda_backend.h.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "ember/cuda/context.h"

namespace ember {

namespace cuda {

void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line) {
  throw Error(detail::concat("CUDA error in ", call, ": ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")"),
              file, line);
}

void make_current(int device) {
  thread_local int current = -1;
  if (current == device) return;
  EMBER_CUDA_CHECK(cudaSetDevice(device));
  current = device;
}

Context::Context(int device_) : device(device_), allocator(device_) {
  make_current(device);
  EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  void* host = nullptr;
  EMBER_CUDA_CHECK(cudaHostAlloc(&host, 4 * sizeof(int64_t), cudaHostAllocMapped));
  std::memset(host, 0, 4 * sizeof(int64_t));
  error_host = static_cast<volatile int64_t*>(host);
  void* dev = nullptr;
  EMBER_CUDA_CHECK(cudaHostGetDevicePointer(&dev, host, 0));
  error_device = static_cast<int64_t*>(dev);
}

Scope::Scope(Context& ctx, const char* name) : ctx_(ctx), name_(name) {
  make_current(ctx.device);
  if (ctx.profiler.on()) begin_ = ctx.profiler.begin(ctx.stream);
}

Scope::~Scope() {
  if (begin_) ctx_.profiler.end(name_, begin_, ctx_.stream);
}

// ---- profiler ----
void Profiler::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  totals_.clear();
  on_ = true;
}

cudaEvent_t Profiler::begin(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  cudaEvent_t e;
  if (pool_.empty()) {
    EMBER_CUDA_CHECK(cudaEventCreate(&e));
  } else {
    e = pool_.back();
    pool_.pop_back();
  }
  EMBER_CUDA_CHECK(cudaEventRecord(e, stream));
  return e;
}

void Profiler::end(const char* name, cudaEvent_t begin, cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  cudaEvent_t e;
  if (pool_.empty()) {
    if (cudaEventCreate(&e) != cudaSuccess) return;  // a destructor: drop the sample rather than throw
  } else {
    e = pool_.back();
    pool_.pop_back();
  }
  if (cudaEventRecord(e, stream) != cudaSuccess) return;
  pending_.push_back({name, begin, e});
  if (pending_.size() >= 4096) resolve_locked();  // bounds the events in flight
}

void Profiler::resolve_locked() {
  for (const Pending& p : pending_) {
    float ms = 0;
    if (cudaEventSynchronize(p.end) == cudaSuccess && cudaEventElapsedTime(&ms, p.begin, p.end) == cudaSuccess) {
      ProfileEntry& e = totals_[p.name];
      e.name = p.name;
      e.calls += 1;
      e.total_ms += double(ms);
    }
    pool_.push_back(p.begin);
    pool_.push_back(p.end);
  }
  pending_.clear();
}

std::vector<ProfileEntry> Profiler::report(cudaStream_t stream) {
  EMBER_CUDA_CHECK(cudaStreamSynchronize(stream));
  std::lock_guard<std::mutex> lock(mutex_);
  resolve_locked();
  on_ = false;
  std::vector<ProfileEntry> out;
  for (const auto& [name, e] : totals_) out.push_back(e);
  std::sort(out.begin(), out.end(), [](const ProfileEntry& a, const ProfileEntry& b) { return a.total_ms > b.total_ms; });
  return out;
}

// ---- the registry ----
namespace {

struct DeviceCount {
  int count = 0;
  std::string why_none;  // cudaGetDeviceCount's answer when there is no GPU
};

const DeviceCount& device_count() {
  static const DeviceCount c = [] {
    DeviceCount d;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // clear it: no GPU is an answer, not a failure
      d.why_none = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
      return d;
    }
    d.count = n;
    if (n == 0) d.why_none = "0 devices";
    return d;
  }();
  return c;
}

constexpr int kMaxDevices = 64;
std::atomic<CudaBackend*> g_backends[kMaxDevices];
std::mutex g_create_mutex;

[[maybe_unused]] bool env_flag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return !(std::strcmp(v, "0") == 0 || std::strcmp(v, "OFF") == 0 || std::strcmp(v, "off") == 0 ||
           std::strcmp(v, "false") == 0);
}

#ifdef EMBER_WITH_CUDNN
std::atomic<bool> g_cudnn_enabled{env_flag("EMBER_CUDNN", true)};
#else
std::atomic<bool> g_cudnn_enabled{false};
#endif

CudaBackend& backend_of(int device) { return static_cast<CudaBackend&>(device_backend(device)); }

}  // namespace

bool cudnn_built() {
#ifdef EMBER_WITH_CUDNN
  return true;
#else
  return false;
#endif
}

void set_cudnn_enabled(bool on) {
  EMBER_CHECK(!on || cudnn_built(), "cuda::set_cudnn_enabled: this build of Ember has no cuDNN ",
              "(configure with -DEMBER_CUDNN=ON where cuDNN is installed)");
  g_cudnn_enabled.store(on);
}
bool cudnn_enabled() { return g_cudnn_enabled.load(); }

void synchronize(int device) { backend_of(device).synchronize(); }

MemoryStats memory_stats(int device) { return backend_of(device).context().allocator.stats(); }

void empty_cache(int device) {
  CudaBackend& b = backend_of(device);
  make_current(device);
  EMBER_CUDA_CHECK(cudaStreamSynchronize(b.context().stream));
  b.context().allocator.empty_cache();
}

void profile_start(int device) { backend_of(device).context().profiler.start(); }

std::vector<ProfileEntry> profile_report(int device) {
  Context& ctx = backend_of(device).context();
  make_current(device);
  return ctx.profiler.report(ctx.stream);
}

int visible_device_count() { return device_count().count; }

Backend& device_backend(int index) {
  if (index >= 0 && index < kMaxDevices) {
    if (CudaBackend* b = g_backends[index].load(std::memory_order_acquire)) return *b;
  }
  const DeviceCount& dc = device_count();
  EMBER_CHECK(dc.count > 0, "CUDA device cuda:", index, " requested but no GPU is available (cudaGetDeviceCount: ",
              dc.why_none, "); use \"cpu\"");
  EMBER_CHECK(index >= 0 && index < dc.count && index < kMaxDevices, "CUDA device cuda:", index,
              " requested but only ", dc.count, dc.count == 1 ? " GPU is" : " GPUs are", " available (cuda:0",
              dc.count > 1 ? " to cuda:" + std::to_string(dc.count - 1) : std::string(), ")");
  std::lock_guard<std::mutex> lock(g_create_mutex);
  CudaBackend* b = g_backends[index].load(std::memory_order_acquire);
  if (!b) {
    // Never deleted: tensors still alive at exit (in statics) free their memory through it.
    b = new CudaBackend(index);
    g_backends[index].store(b, std::memory_order_release);
  }
  return *b;
}

}  // namespace cuda

CudaBackend::CudaBackend(int device) : device_(device), ctx_(std::make_unique<cuda::Context>(device)) {}

CudaBackend::~CudaBackend() = default;

void CudaBackend::synchronize() {
  cuda::make_current(device_);
  EMBER_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  volatile int64_t* e = ctx_->error_host;
  if (e[0] == cuda::kNoError) return;
  const int64_t kind = e[0], index = e[1], value = e[2], classes = e[3];
  e[0] = cuda::kNoError;  // reported once
  if (kind == cuda::kNllTarget)
    EMBER_FAIL("nll_loss: target ", value, " at index ", index, " is out of range [0, ", classes,
               ") (found by the GPU; reported at the next synchronisation of cuda:", device_,
               ", and the loss of that batch is nan)");
  EMBER_FAIL("cuda:", device_, ": a kernel reported an unknown error kind ", kind);
}

}  // namespace ember
