// Loading the CUDA backend module (core/cuda_module.h) on first use, and the public functions of
// core/cuda.h that forward to it. The one place that knows whether the module was built.
#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "ember/core/cuda_module.h"
#include "ember/core/determinism.h"

namespace ember {
namespace {

struct Loaded {
  const CudaModule* module = nullptr;
  std::string why_not;  // set when module is null
};

#ifdef EMBER_CUDA_MODULE_BUILT
bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Where the module may be: $EMBER_CUDA_MODULE alone where set; else beside the library or program
// that holds this code (and its ../lib), then the install folder, then the build folder.
std::vector<std::string> candidates() {
  if (const char* env = std::getenv("EMBER_CUDA_MODULE"); env && *env) return {env};
  std::vector<std::string> out;
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&cuda_built), &info) && info.dli_fname && *info.dli_fname) {
    const std::string dir = folder_of(info.dli_fname);
    out.push_back(dir + "/" EMBER_CUDA_MODULE_NAME);
    out.push_back(dir + "/../lib/" EMBER_CUDA_MODULE_NAME);
  }
  out.push_back(EMBER_CUDA_MODULE_INSTALL_DIR "/" EMBER_CUDA_MODULE_NAME);
  out.push_back(EMBER_CUDA_MODULE_BUILD_DIR "/" EMBER_CUDA_MODULE_NAME);
  return out;
}

Loaded load_module() {
  const std::vector<std::string> paths = candidates();
  std::string path;
  for (const std::string& p : paths) {
    if (is_file(p)) {
      path = p;
      break;
    }
  }
  if (path.empty()) {
    std::string looked;
    for (const std::string& p : paths) looked += (looked.empty() ? "" : ", ") + p;
    return {nullptr, "the CUDA backend module " EMBER_CUDA_MODULE_NAME " was not found (looked for " + looked +
                         "; set EMBER_CUDA_MODULE to its path)"};
  }
  // RTLD_LOCAL: the module's CUDA libraries stay out of the program's symbol namespace.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return {nullptr, "the CUDA backend module " + path + " could not be loaded (the CUDA libraries or driver " +
                         "may be missing): " + (why ? why : "unknown reason")};
  }
  using Entry = const CudaModule* (*)(const CudaHost*);
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "ember_cuda_module"));
  if (!entry) return {nullptr, "the file " + path + " is not an Ember CUDA backend module (no ember_cuda_module)"};
  static const CudaHost host{&deterministic};
  const CudaModule* m = entry(&host);
  if (!m || m->abi != kCudaModuleAbi || !m->ember_version || std::strcmp(m->ember_version, EMBER_VERSION) != 0) {
    const std::string theirs = m && m->ember_version ? m->ember_version : "an unknown version";
    return {nullptr, "the CUDA backend module " + path + " is from Ember " + theirs + ", but this program uses Ember " +
                         EMBER_VERSION + " (install the module of the same version)"};
  }
  return {m, ""};
}
#endif

const Loaded& loaded() {
#ifdef EMBER_CUDA_MODULE_BUILT
  static const Loaded l = load_module();
#else
  static const Loaded l{nullptr, "this build of Ember has no CUDA backend (configure with -DEMBER_CUDA=ON on a "
                                 "machine with nvcc)"};
#endif
  return l;
}

const CudaModule& module_or_throw(const char* what) {
  const Loaded& l = loaded();
  EMBER_CHECK(l.module, what, ": ", l.why_not, "; use \"cpu\"");
  return *l.module;
}

}  // namespace

Backend& cuda_backend(int index) {
  const Loaded& l = loaded();
  if (!l.module) {
#ifdef EMBER_CUDA_MODULE_BUILT
    EMBER_FAIL("device cuda:", index, " requested, but ", l.why_not, "; use \"cpu\"");
#else
    EMBER_FAIL("device cuda:", index, " requested, but this build of Ember has no CUDA backend ",
               "(configure with -DEMBER_CUDA=ON on a machine with nvcc); use \"cpu\"");
#endif
  }
  return l.module->backend(index);
}

bool cuda_built() {
#ifdef EMBER_CUDA_MODULE_BUILT
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
  const Loaded& l = loaded();
  return l.module ? l.module->device_count() : 0;
}

namespace cuda {

std::string unavailable_reason() {
  const Loaded& l = loaded();
  if (!l.module) return l.why_not;
  return l.module->device_count() > 0 ? "" : "no GPU is visible to the CUDA runtime";
}

void synchronize(int device) { module_or_throw("cuda::synchronize").synchronize(device); }
bool cudnn_built() { return loaded().module && loaded().module->cudnn_built(); }
void set_cudnn_enabled(bool on) { module_or_throw("cuda::set_cudnn_enabled").set_cudnn_enabled(on); }
bool cudnn_enabled() { return loaded().module && loaded().module->cudnn_enabled(); }
MemoryStats memory_stats(int device) { return module_or_throw("cuda::memory_stats").memory_stats(device); }
void empty_cache(int device) { module_or_throw("cuda::empty_cache").empty_cache(device); }
void profile_start(int device) { module_or_throw("cuda::profile_start").profile_start(device); }
std::vector<ProfileEntry> profile_report(int device) {
  return module_or_throw("cuda::profile_report").profile_report(device);
}

}  // namespace cuda
}  // namespace ember
