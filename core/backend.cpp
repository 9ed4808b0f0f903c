// The backend registry: the only place that knows whether CUDA was built.
#include "ember/core/backend.h"

#include "ember/core/cpu/cpu_backend.h"

#ifdef EMBER_WITH_CUDA
#include "ember/cuda/cuda_backend.h"
#endif

namespace ember {

Backend& backend(Device device) {
  if (device.is_cpu()) return cpu_backend();
#ifdef EMBER_WITH_CUDA
  return cuda_backend(device.index);
#else
  EMBER_FAIL("device ", device.str(), " requested, but this build of Ember has no CUDA backend ",
             "(configure with -DEMBER_CUDA=ON on a machine with nvcc); use \"cpu\"");
#endif
}

bool cuda_built() {
#ifdef EMBER_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef EMBER_WITH_CUDA
  return cuda_available_devices();
#else
  return 0;
#endif
}

}  // namespace ember
