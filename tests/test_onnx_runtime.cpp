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

// Runs `x` through ONNX Runtime from an exported model file; the outputs as float32 of `shape`.
Tensor run_in_ort(const std::string& model_file, const Tensor& x, const Shape& shape, const test::ScratchDir& dir) {
  write_f32(dir.file("x.f32"), x);
  std::string cmd = "node " + std::string(EMBER_SOURCE_DIR) + "/tests/onnx/run_ort.js " + test::onnxruntime_node_dir() +
                    " " + model_file + " " + dir.file("x.f32") + " " + std::to_string(x.size(0)) + " " +
                    std::to_string(x.size(1)) + " " + std::to_string(x.size(2)) + " " + std::to_string(x.size(3)) +
                    " " + dir.file("y.f32") + " 2>&1";
  INFO(cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<uint8_t> bytes = test::read_bytes(dir.file("y.f32"));
  REQUIRE(bytes.size() == size_t(shape_numel(shape)) * 4);
  return from_blob(bytes.data(), shape, kFloat32);
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
  Tensor theirs = run_in_ort(dir.file("model.onnx"), x, ours.shape(), dir);
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

namespace {
// One model using every op beyond MNISTNet's that has an ONNX operator. x: (N, 3, 8, 8) -> (N, 200)
struct OpZoo : nn::Module {
  nn::Conv2d dw{nn::Conv2dOptions(3, 6, 3).padding(2).dilation(2).groups(3)};  // dilated, grouped
  nn::LayerNorm ln{nn::LayerNormOptions(Shape{8})};
  nn::Linear fc{96, 16};
  Tensor proj;
  OpZoo() {
    register_module("dw", dw);
    register_module("ln", ln);
    register_module("fc", fc);
    proj = register_parameter("proj", randn({24, 5}) * 0.2);
    NoGradGuard ng;
    ln.weight.normal_(1.0, 0.2);
    ln.bias.normal_(0.0, 0.2);
  }
  std::string name() const override { return "OpZoo"; }
  Tensor forward(const Tensor& x) override {
    Tensor h = ln(dw(x));                                                    // (N, 6, 8, 8)
    h = cat({gelu(h), gelu(h, "tanh"), leaky_relu(h, 0.1), sigmoid(h) * tanh(h)}, 1);  // (N, 24, 8, 8)
    h = avg_pool2d(h, 2);                                                    // (N, 24, 4, 4)
    Tensor a = adaptive_avg_pool2d(h, {2, 2}).flatten(1);                    // (N, 96)
    Tensor g = adaptive_avg_pool2d(h, 1).flatten(1);                         // (N, 24)
    Tensor p = matmul(h.permute({0, 2, 3, 1}), proj);                        // (N, 4, 4, 5)
    Tensor sm = softmax(p, -1).flatten(1), lsm = log_softmax(p.transpose(1, 3), 1).flatten(1);  // (N, 80) each
    Tensor f = clamp(fc(a), -0.5, 0.5) * 2.0 - 1.0;                          // (N, 16)
    Tensor r = (1.0 - mean(h, {2, 3}) / 3.0) + sum(g, 1, true) - g / (g * g + 1.0);  // (N, 24)
    return cat({sm.narrow(1, 0, 40), lsm.narrow(1, 0, 40), f, r, g, exp(-abs(a)).narrow(1, 0, 56)}, 1);
  }
};
}  // namespace

TEST_CASE("every op with an ONNX operator exports, passes the checker and runs in ONNX Runtime as in Ember") {
  manual_seed(7);
  OpZoo model;
  model.eval();
  test::ScratchDir dir("onnx_zoo");
  Tensor x = randn({5, 3, 8, 8});
  onnx::ExportSummary s = onnx::export_model(model, x.slice(0, 2), dir.file("zoo.onnx"));  // checked by onnx::checker
  CHECK(s.nodes > 20);
  Tensor ours;
  {
    NoGradGuard ng;
    ours = model(x);
  }
  Tensor theirs = run_in_ort(dir.file("zoo.onnx"), x, ours.shape(), dir);
  double diff = test::max_abs_diff(theirs, ours);
  std::printf("op zoo: %lld values, max |diff| %.3g\n", (long long)ours.numel(), diff);
  CHECK(diff <= 1e-4);
}
