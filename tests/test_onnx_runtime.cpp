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

namespace {
// The indexing, extreme and loss ops: index_select, gather, embedding, max/min along a dim with
// their indices, argmax/argmin, and the losses, with negative dims, keepdim and the losses'
// options. Indices and targets come from the input, so they are graph values, not constants.
// x: (N, 3, 8, 8) -> (N, K); a scalar (a reduced loss) is added to a column of zeros.
struct IndexLossZoo : nn::Module {
  nn::Embedding emb{nn::EmbeddingOptions(64, 4).padding_idx(0)};
  Tensor w, pos_w, bce_w, pick;
  IndexLossZoo() {
    register_module("emb", emb);
    w = register_parameter("class_weight", from_vector<float>({0.5f, 2.0f, 1.25f}, {3}));
    pos_w = register_parameter("pos_weight", rand({12}) + 0.5);
    bce_w = register_parameter("bce_weight", rand({12}));
    pick = register_buffer("pick", from_vector<int64_t>({5, 0, 191, 5, 64, 7}, {6}));
  }
  std::string name() const override { return "IndexLossZoo"; }
  Tensor forward(const Tensor& x) override {
    Tensor flat = x.flatten(1);                                         // (N, 192)
    Tensor zero = flat.narrow(1, 0, 1) * 0.0;                           // (N, 1)
    Tensor sel = index_select(flat, -1, pick);                          // (N, 6)
    Tensor one = index_select(x, 1, scalar_tensor(2.0, kInt64)).flatten(1).narrow(1, 0, 8);  // (N, 8)
    Tensor t = argmax(x, 1);                                            // (N, 8, 8), in [0, 3)
    Tensor gat = gather(x, -3, t.unsqueeze(1)).flatten(1);              // (N, 64): the channel maxima
    Tensor e = emb(argmax(x.flatten(2), -1)).flatten(1);                // (N, 12): rows of 64
    auto [mx, imx] = max(x, 1);                                         // (N, 8, 8) each
    auto [mn, imn] = min(x, -1, true);                                  // (N, 3, 8, 1) each
    Tensor am = argmax(x, 2, true).to(kFloat32).flatten(1), an = argmin(x, -1).to(kFloat32).flatten(1);
    Tensor all_max = max(x), all_min = min(x);
    Tensor lp = log_softmax(x, 1);
    Tensor x2 = mean(x, {2, 3});                                        // (N, 3)
    Tensor t2 = argmin(x2, 1);                                          // (N)
    Tensor nll_none = nll_loss(lp, t, NllLossOptions().weight(w).ignore_index(1).reduction(Reduction::None)).flatten(1);
    Tensor nll_mean = nll_loss(lp, t, NllLossOptions().weight(w).ignore_index(1));
    Tensor nll_plain = nll_loss(log_softmax(x2, -1), t2);               // Ember's fused (N, C) mean path
    Tensor ce_none = cross_entropy(x, t, CrossEntropyOptions().reduction(Reduction::None)).flatten(1);
    Tensor ce_sum = cross_entropy(x2, t2, CrossEntropyOptions().weight(w).reduction(Reduction::Sum));
    Tensor ce_mean = cross_entropy(x, t, CrossEntropyOptions().ignore_index(0));
    Tensor a = flat.narrow(1, 0, 12), b = flat.narrow(1, 12, 12);
    Tensor mse = mse_loss(a, b), l1 = l1_loss(a, b, Reduction::Sum), l1_none = l1_loss(a, b, Reduction::None);
    Tensor bce = binary_cross_entropy(sigmoid(a), sigmoid(b), bce_w);
    Tensor bcel = binary_cross_entropy_with_logits(a, sigmoid(b), bce_w, Reduction::None, pos_w);
    Tensor bcel_mean = binary_cross_entropy_with_logits(a, sigmoid(b));
    std::vector<Tensor> cols{sel, one, gat, e, mx.flatten(1), imx.to(kFloat32).flatten(1), mn.flatten(1),
                             imn.to(kFloat32).flatten(1), am, an, nll_none, ce_none, l1_none, bcel};
    for (const Tensor& s : {all_max, all_min, nll_mean, nll_plain, ce_sum, ce_mean, mse, l1, bce, bcel_mean})
      cols.push_back(zero + s);
    return cat(cols, 1);
  }
};
}  // namespace

TEST_CASE("indexing, max/min with indices, argmax/argmin and the losses export and run in ONNX Runtime as in Ember") {
  manual_seed(11);
  IndexLossZoo model;
  model.eval();
  test::ScratchDir dir("onnx_index_loss");
  Tensor x = randn({5, 3, 8, 8});
  onnx::ExportSummary s = onnx::export_model(model, x.slice(0, 2), dir.file("zoo.onnx"));  // checked by onnx::checker
  CHECK(s.nodes > 30);
  std::vector<uint8_t> bytes = test::read_bytes(dir.file("zoo.onnx"));
  std::string graph(bytes.begin(), bytes.end());
  for (const char* op : {"Gather", "GatherElements", "ReduceMax", "ReduceMin", "ArgMax", "ArgMin", "ReduceMean",
                         "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"}) {
    INFO(op);
    CHECK(graph.find(op) != std::string::npos);
  }
  Tensor ours;
  {
    NoGradGuard ng;
    ours = model(x);
  }
  Tensor theirs = run_in_ort(dir.file("zoo.onnx"), x, ours.shape(), dir);
  double diff = test::max_abs_diff(theirs, ours);
  std::printf("index/loss zoo: %lld values, max |diff| %.3g\n", (long long)ours.numel(), diff);
  CHECK(diff <= 1e-4);
}
