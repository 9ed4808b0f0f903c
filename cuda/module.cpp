// The module's one exported function (core/cuda_module.h): the table through which libember
// reaches this backend. Everything else in the module is hidden.
#include "ember/core/cuda_module.h"
#include "ember/cuda/cuda_backend.h"

namespace ember {
namespace {
const CudaHost* g_host = nullptr;
}  // namespace

// The program's deterministic mode lives in libember; the module asks it through the host table.
bool cuda::host_deterministic() { return g_host && g_host->deterministic && g_host->deterministic(); }

}  // namespace ember

extern "C" __attribute__((visibility("default"))) const ember::CudaModule* ember_cuda_module(
    const ember::CudaHost* host) {
  using namespace ember;
  g_host = host;
  static const CudaModule table = [] {
    CudaModule m;
    m.ember_version = EMBER_VERSION;
    m.device_count = [] { return cuda::visible_device_count(); };
    m.backend = [](int index) -> Backend& { return cuda::device_backend(index); };
    m.synchronize = [](int d) { cuda::synchronize(d); };
    m.cudnn_built = [] { return cuda::cudnn_built(); };
    m.set_cudnn_enabled = [](bool on) { cuda::set_cudnn_enabled(on); };
    m.cudnn_enabled = [] { return cuda::cudnn_enabled(); };
    m.memory_stats = [](int d) { return cuda::memory_stats(d); };
    m.empty_cache = [](int d) { cuda::empty_cache(d); };
    m.profile_start = [](int d) { cuda::profile_start(d); };
    m.profile_report = [](int d) { return cuda::profile_report(d); };
    return m;
  }();
  return &table;
}
