// The backend registry. The CPU backend is always here; the CUDA backend is a module that
// core/cuda_loader.cpp loads on the first request for a cuda device.
#include "ember/core/backend.h"

#include "ember/core/cpu/cpu_backend.h"

namespace ember {

Backend& cuda_backend(int index);  // core/cuda_loader.cpp

Backend& backend(Device device) {
  if (device.is_cpu()) return cpu_backend();
  return cuda_backend(device.index);
}

}  // namespace ember
