// main() of test_onnx_runtime: ONNX Runtime runs through Node.js and the npm package
// onnxruntime-node (scripts/setup.sh installs it). Where the build has no ONNX support, or node,
// the package or MNIST is missing, the suite exits 77, which CTest reports as skipped.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>

#include "ember/io/onnx/export.h"
#include "onnx_helpers.h"

int main(int argc, char** argv) {
  const char* why = nullptr;
  if (!ember::onnx::available()) why = "this build of Ember has no ONNX support (EMBER_ONNX=OFF or no libonnx-dev)";
  else if (!ember::test::node_available()) why = "node (Node.js) is not on PATH";
  else if (ember::test::onnxruntime_node_dir().empty())
    why = "the npm package onnxruntime-node is not installed (scripts/setup.sh installs it into .deps/onnxruntime)";
  else if (!std::filesystem::exists(ember::test::mnist_dir() + "/t10k-images-idx3-ubyte"))
    why = "MNIST is not in datasets/mnist (scripts/get_data.sh)";
  if (why) {
    std::printf("%s: skipped, %s\n", argc > 0 ? argv[0] : "test_onnx_runtime", why);
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
