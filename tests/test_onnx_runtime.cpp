// Exported models run in ONNX Runtime (Node.js, onnxruntime-node) on MNIST's 10,000 test images:
// the predicted labels equal Ember's for every image and the logits agree within 1e-4.
#include <cstdio>
#include <fstream>

#include "ember/io/onnx/export.h"
#include "examples/models.h"
#include "io_helpers.h"
#include "onnx_helpers.h"

using namespace ember;

namespace {

void write_f32(const std::string& path, const Tensor& t) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(t.raw_data()), std::streamsize(t.nbytes()));
  REQUIRE(out.good());
}

// Runs `model` on all test images in Ember and, exported, in ONNX Runtime; compares the two.
void check_against_ort(nn::Module& model, const data::MNIST& test, const std::string& tag) {
  test::ScratchDir dir("onnx_rt_" + tag);
  std::vector<int64_t> all(size_t(test.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  Tensor x = test.get_batch(all).data;  // (10000, 1, 28, 28)
  Tensor ours;
  {
    NoGradGuard ng;
    ours = model(x);
  }
  // An example batch of 3 (not 1: dim 0 is told apart from the other dims by its size).
  onnx::export_model(model, x.slice(0, 3), dir.file("model.onnx"));
  write_f32(dir.file("x.f32"), x);
  std::string cmd = "node " + std::string(EMBER_SOURCE_DIR) + "/tests/onnx/run_ort.js " + test::onnxruntime_node_dir() +
                    " " + dir.file("model.onnx") + " " + dir.file("x.f32") + " 10000 1 28 28 " + dir.file("y.f32") +
                    " 2>&1";
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<uint8_t> bytes = test::read_bytes(dir.file("y.f32"));
  REQUIRE(bytes.size() == size_t(ours.nbytes()));
  Tensor theirs = from_blob(bytes.data(), ours.shape(), kFloat32);
  double diff = test::max_abs_diff(theirs, ours);
  Tensor agree = eq(argmax(theirs, 1), argmax(ours, 1));
  int64_t same = int64_t(sum(agree.to(kFloat32)).item());
  Tensor acc = eq(argmax(ours, 1), test.labels()).to(kFloat32);
  std::printf("%s: ONNX Runtime vs Ember on %lld images: %lld equal labels, max |logit diff| %.3g, accuracy %.4f\n",
              tag.c_str(), (long long)test.size(), (long long)same, diff, mean(acc).item());
  CHECK(same == test.size());
  CHECK(diff <= 1e-4);
}

}  // namespace

TEST_CASE("MNISTNet and MNISTNet-BN, exported, give Ember's predictions in ONNX Runtime") {
  data::MNIST train(test::mnist_dir(), true), test(test::mnist_dir(), false);
  SUBCASE("MNISTNet") {
    manual_seed(1);
    examples::MNISTNet model;
    test::train_briefly(model, train, 150, 2);
    check_against_ort(model, test, "mnistnet");
  }
  SUBCASE("MNISTNet-BN") {
    manual_seed(1);
    examples::MNISTNetBN model;
    test::train_briefly(model, train, 150, 3);
    check_against_ort(model, test, "mnistnet-bn");
  }
}
