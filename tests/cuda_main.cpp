// main() of the test_cuda_* suites: without a GPU there is nothing to compare, so they exit with 77,
// which CTest reports as skipped (SKIP_RETURN_CODE), instead of failing or passing vacuously.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "ember/core/cuda.h"

int main(int argc, char** argv) {
  if (ember::cuda_device_count() == 0) {
    std::printf("%s: skipped, %s\n", argc > 0 ? argv[0] : "test_cuda",
                ember::cuda_built() ? "no GPU is visible (cuda_device_count() == 0)"
                                    : "this build of Ember has no CUDA backend (EMBER_CUDA=OFF)");
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
