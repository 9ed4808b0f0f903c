// The CUDA backend is a module loaded on the first cuda request (core/cuda.h). Without it, or with
// a wrong one, a program still runs on the CPU and a cuda request says exactly why it cannot be
// served. CTest runs this suite several times (tests/CMakeLists.txt) with $EMBER_CUDA_MODULE
// pointing at no file, at a library that is not a module, and at a module of another version;
// $EMBER_TEST_EXPECT holds the words the reason must contain.
#include <cstdlib>
#include <string>

#include "helpers.h"

using namespace ember;

namespace {
std::string expected_reason() {
  const char* e = std::getenv("EMBER_TEST_EXPECT");
  return e ? e : "";
}
}  // namespace

TEST_CASE("the CPU works whatever the state of the CUDA module") {
  Tensor x = from_vector<float>({1, -2, 3}, {3});
  CHECK(relu(x).to_vector<float>() == std::vector<float>{1, 0, 3});
}

TEST_CASE("a cuda request that cannot be served says why, naming the device") {
  const std::string expect = expected_reason();
  if (!cuda_built()) {
    CHECK(cuda_device_count() == 0);
    CHECK(cuda::unavailable_reason().find("no CUDA backend") != std::string::npos);
    const std::string err = test::error_of([] { (void)zeros({1}, kFloat32, Device("cuda:0")); });
    CHECK(err.find("device cuda:0 requested, but this build of Ember has no CUDA backend") != std::string::npos);
    return;
  }
  if (expect.empty()) return;  // the plain run: a GPU may or may not be here
  CHECK(cuda_device_count() == 0);
  const std::string why = cuda::unavailable_reason();
  INFO("reason: ", why);
  CHECK(why.find(expect) != std::string::npos);
  const std::string err = test::error_of([] { (void)zeros({2}, kFloat32, Device("cuda:1")); });
  INFO("error: ", err);
  CHECK(err.find("device cuda:1 requested, but ") != std::string::npos);
  CHECK(err.find(expect) != std::string::npos);
  CHECK(err.find("use \"cpu\"") != std::string::npos);
  // The functions that need the module refuse the same way; the queries answer without throwing.
  CHECK(test::error_of([] { cuda::synchronize(0); }).find(expect) != std::string::npos);
  CHECK_FALSE(cuda::cudnn_built());
}
