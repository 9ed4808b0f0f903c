// Stand-ins for libember_cuda.so in test_core_cuda_module: built once with FAKE_OTHER_VERSION (the
// entry point of a module from another Ember version) and once without (a library with no entry).
#ifdef FAKE_OTHER_VERSION
#include "ember/core/cuda_module.h"

extern "C" __attribute__((visibility("default"))) const ember::CudaModule* ember_cuda_module(const ember::CudaHost*) {
  static ember::CudaModule m;
  m.ember_version = "0.0.0-test";
  return &m;
}
#else
extern "C" int ember_fake_not_a_module() { return 0; }
#endif
