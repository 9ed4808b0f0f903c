#pragma once
// The contract between libember and the CUDA backend module (libember_cuda.so), private to both.
// core/cuda_loader.cpp dlopens the module and calls its one exported function; the module uses
// nothing of libember but inline header code and the CudaHost it is handed, so that it works
// beside a static libember (whose symbols a program need not export) as well as a shared one.
// Bump kCudaModuleAbi whenever either struct changes; the loader also refuses a module built
// from another Ember version.
#include "ember/core/backend.h"
#include "ember/core/cuda.h"

namespace ember {

inline constexpr int kCudaModuleAbi = 1;

// What the module may call back into libember for.
struct CudaHost {
  bool (*deterministic)();
};

struct CudaModule {
  int abi = kCudaModuleAbi;
  const char* ember_version = nullptr;  // the Ember version the module was built from
  int (*device_count)() = nullptr;      // never throws; 0 without GPU or driver
  Backend& (*backend)(int index) = nullptr;  // throws ember::Error for a GPU that is not there
  void (*synchronize)(int device) = nullptr;
  bool (*cudnn_built)() = nullptr;
  void (*set_cudnn_enabled)(bool on) = nullptr;
  bool (*cudnn_enabled)() = nullptr;
  cuda::MemoryStats (*memory_stats)(int device) = nullptr;
  void (*empty_cache)(int device) = nullptr;
  void (*profile_start)(int device) = nullptr;
  std::vector<cuda::ProfileEntry> (*profile_report)(int device) = nullptr;
};

}  // namespace ember

// The module's one exported symbol.
extern "C" const ember::CudaModule* ember_cuda_module(const ember::CudaHost* host);
