// Random fills, drawn in element order so a generator state fixes the values.
#include "ember/core/cpu/cpu_backend.h"

namespace ember {

void CpuBackend::uniform(Tensor& out, double low, double high, Generator& gen) {
  dispatch_floating(out.dtype(), "uniform_", [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.raw_data());
    for (int64_t i = 0; i < out.numel(); ++i) {
      double u = std::is_same_v<T, float> ? double(gen.next_float()) : gen.next_double();
      p[i] = T(low + (high - low) * u);
    }
  });
}

void CpuBackend::normal(Tensor& out, double mean, double std, Generator& gen) {
  dispatch_floating(out.dtype(), "normal_", [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.raw_data());
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = T(mean + std * gen.next_normal());
  });
}

}  // namespace ember
