// ONNX export and reading: what an exported file holds (the state dict as initializers, the graph
// of Ember's ops), what export refuses (training-mode BatchNorm and Dropout, unmapped ops, bad
// options), ONNX files read back by ember::load, train_mnist and ember-ckpt, and damaged or hostile
// ONNX files refused by name. Running exported models in ONNX Runtime is test_onnx_runtime.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>

#include "ember/io/interop/detect.h"
#include "ember/io/interop/onnx.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/onnx/export.h"
#include "ember/train/checkpoint.h"
#include "examples/models.h"
#include "io_helpers.h"
#include "onnx_helpers.h"

#if EMBER_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif

using namespace ember;
using namespace ember::test;

namespace {

// Output of a shell command (stdout and stderr) and its exit code.
using Run = ember::test::ShellResult;
[[maybe_unused]] Run run(const std::string& cmd) { return ember::test::run_shell(cmd); }
const std::string kBin = std::string(EMBER_BINARY_DIR) + "/bin/";

// MNISTNet-BN with running statistics that are not the initial ones, in eval mode.
[[maybe_unused]] std::unique_ptr<examples::MNISTNetBN> bn_model() {
  manual_seed(5);
  auto m = std::make_unique<examples::MNISTNetBN>();
  NoGradGuard ng;
  for (int k = 0; k < 3; ++k) (*m)(randn({8, 1, 28, 28}));
  m->eval();
  return m;
}

// A module whose forward picks features by index (index_select, which maps to Gather), then takes
// a cross-entropy with label smoothing, which ONNX's SoftmaxCrossEntropyLoss lacks.
struct FirstFive : nn::Module {
  std::string name() const override { return "FirstFive"; }
  Tensor forward(const Tensor& x) override {
    Tensor h = index_select(x, 1, arange(5));
    return cross_entropy(h, argmax(h, -1), CrossEntropyOptions().label_smoothing(label_smoothing));
  }
  double label_smoothing = 0.1;
};
struct WithHead : nn::Module {
  nn::Linear fc{4, 8};
  FirstFive head;
  WithHead() {
    register_module("fc", fc);
    register_module("head", head);
  }
  std::string name() const override { return "WithHead"; }
  Tensor forward(const Tensor& x) override { return head(fc(x)); }
};

}  // namespace

#if EMBER_WITH_ONNX

TEST_CASE("export: the initializers are the state dict, and ember::load gives it back") {
  ScratchDir dir("onnx_sd");
  auto m = bn_model();
  Tensor x = randn({4, 1, 28, 28});
  ember::onnx::ExportSummary s = ember::onnx::export_model(*m, x, dir.file("bn.onnx"));
  CHECK(s.opset == 17);
  StateDict sd = m->state_dict();
  CHECK(s.initializers == int64_t(sd.size()));

  CHECK(io::detect_file_format(dir.file("bn.onnx")) == io::FileFormat::Onnx);
  Value v = load(dir.file("bn.onnx"));
  REQUIRE(v.is_dict());
  std::vector<std::string> keys, expected;
  for (const auto& [k, t] : v.as_dict()) keys.push_back(k);
  for (const auto& [k, t] : sd) expected.push_back(k);
  CHECK(keys == expected);  // "conv1.weight", ..., "bn1.running_mean", ..., in the state dict's order
  for (const auto& [k, t] : sd) {
    INFO(k);
    const Tensor& got = v.as_dict().at(k).as_tensor();
    CHECK(got.dtype() == t.dtype());
    CHECK(got.shape() == t.shape());
    CHECK(max_abs_diff(got.to(kFloat64), t.to(kFloat64)) == 0.0);
  }
  // Loaded into a fresh model, the weights give the same outputs.
  manual_seed(99);
  examples::MNISTNetBN fresh;
  fresh.load_state_dict(train::model_state_from(v, dir.file("bn.onnx")));
  fresh.eval();
  NoGradGuard ng;
  CHECK(max_abs_diff((*m)(x), fresh(x)) == 0.0);
}

TEST_CASE("export: the graph holds Ember's ops as ONNX operators, with a named input and output") {
  ScratchDir dir("onnx_graph");
  auto m = bn_model();
  ember::onnx::export_model(*m, randn({2, 1, 28, 28}), dir.file("bn.onnx"),
                     ember::onnx::ExportOptions().input_name("images").output_name("logits"));
  io::OnnxReader r(dir.file("bn.onnx"));
  CHECK(r.format() == "onnx");
  const io::OnnxGraph& g = r.graph();
  CHECK(g.inputs == std::vector<std::string>{"images"});
  CHECK(g.outputs == std::vector<std::string>{"logits"});
  REQUIRE(g.opsets.size() == 1);
  CHECK(g.opsets[0].second == 17);
  CHECK(contains(g.producer, "ember"));
  std::vector<std::string> ops;
  for (const auto& n : g.nodes)
    if (n.op_type != "Constant") ops.push_back(n.op_type);
  CHECK(ops == std::vector<std::string>{"Conv", "BatchNormalization", "MaxPool", "Relu", "Conv", "BatchNormalization",
                                        "MaxPool", "Relu", "Reshape", "Gemm", "BatchNormalization", "Relu", "Gemm"});
  CHECK(g.nodes.front().inputs == std::vector<std::string>{"images", "conv1.weight", "conv1.bias"});
  CHECK(g.nodes.back().outputs == std::vector<std::string>{"logits"});
}

TEST_CASE("export refuses a BatchNorm in training mode, naming it, and leaves the buffers as they were") {
  ScratchDir dir("onnx_train");
  auto m = bn_model();
  m->train();
  Tensor before = m->bn1.buffer("running_mean").clone();
  std::string e = error_of([&] { ember::onnx::export_model(*m, randn({4, 1, 28, 28}), dir.file("x.onnx")); });
  CHECK(contains(e, "'batch_norm' in module 'bn1' (BatchNorm2d)"));
  CHECK(contains(e, "model.eval()"));
  CHECK(max_abs_diff(m->bn1.buffer("running_mean"), before) == 0.0);
  CHECK(dir.listing().empty());
}

TEST_CASE("export refuses Dropout in training mode and ops without an ONNX mapping, naming the module") {
  ScratchDir dir("onnx_refuse");
  nn::Sequential net(std::make_shared<nn::Linear>(4, 3), std::make_shared<nn::Dropout>(0.5));
  std::string e = error_of([&] { ember::onnx::export_model(net, randn({2, 4}), dir.file("x.onnx")); });
  CHECK(contains(e, "'dropout' in module '1' (Dropout)"));
  CHECK(contains(e, "training mode"));
  net.eval();  // Dropout in eval is the identity: nothing to refuse
  CHECK(error_of([&] { ember::onnx::export_model(net, randn({2, 4}), dir.file("x.onnx")); }) == "");

  WithHead h;
  e = error_of([&] { ember::onnx::export_model(h, randn({2, 4}), dir.file("y.onnx")); });
  CHECK(contains(e, "the op 'cross_entropy' in module 'head' (FirstFive) has label_smoothing 0.1"));
  h.head.label_smoothing = 0.0;  // index_select, argmax and cross_entropy all map
  CHECK(error_of([&] { ember::onnx::export_model(h, randn({2, 4}), dir.file("y.onnx")); }) == "");
}

TEST_CASE("export refuses an op without an ONNX mapping, naming the op and the module path") {
  ScratchDir dir("onnx_unmapped");
  // sum_to (the backward of broadcasting) is an op no exporter maps.
  struct SumTo : nn::Module {
    std::string name() const override { return "SumTo"; }
    Tensor forward(const Tensor& x) override { return sum_to(x, {1, x.size(1)}); }
  };
  nn::Sequential net(std::make_shared<nn::Linear>(4, 3), std::make_shared<SumTo>());
  std::string e = error_of([&] { ember::onnx::export_model(net, randn({2, 4}), dir.file("z.onnx")); });
  CHECK(contains(e, "the op 'sum_to' in module '1' (SumTo) has no ONNX mapping in Ember's exporter"));
  CHECK(dir.listing().empty());
}

TEST_CASE("export checks its options and its example input") {
  ScratchDir dir("onnx_opts");
  examples::MNISTNet m;
  m.eval();
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, randn({2, 1, 28, 28}), dir.file("a.onnx"),
                                                   ember::onnx::ExportOptions().opset(12)); }),
                 "opset 12 is outside the range"));
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, randn({2, 1, 28, 28}), dir.file("a.onnx"),
                                                   ember::onnx::ExportOptions().output_name("input")); }),
                 "two different, non-empty names"));
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, Tensor(), dir.file("a.onnx")); }), "batch dimension"));
}

// ---- damaged and hostile files ----
namespace {
::onnx::ModelProto small_model() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("test");
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* t = g->add_initializer();
  t->set_name("w");
  t->set_data_type(::onnx::TensorProto::FLOAT);
  t->add_dims(2);
  t->add_dims(3);
  float vals[6] = {1, 2, 3, 4, 5, 6};
  t->set_raw_data(vals, sizeof vals);
  return m;
}
std::string save_model(const ::onnx::ModelProto& m, const std::string& path) {
  std::string bytes;
  REQUIRE(m.SerializeToString(&bytes));
  write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
  return path;
}
std::string load_error(const ::onnx::ModelProto& m, const std::string& path) {
  save_model(m, path);
  return error_of([&] { load(path); });
}
}  // namespace

TEST_CASE("ONNX files: each malformed initializer is refused naming the file and the initializer") {
  ScratchDir dir("onnx_bad");
  std::string f = dir.file("m.onnx");
  CHECK(load_error(small_model(), f) == "");
  Value ok = load(f);
  CHECK(ok.as_dict().at("w").as_tensor().shape() == Shape{2, 3});

  auto m = small_model();
  m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(20);
  std::string e = load_error(m, f);
  CHECK(contains(e, f + ": initializer 'w': raw_data holds 20 bytes, but FLOAT [2, 3] needs 24"));

  m = small_model();
  auto* t = m.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  for (int k = 0; k < 5; ++k) t->add_float_data(1.0f);
  CHECK(contains(load_error(m, f), "initializer 'w': FLOAT [2, 3] needs 6 values, but float_data holds 5"));

  m = small_model();
  t = m.mutable_graph()->mutable_initializer(0);
  t->clear_raw_data();
  t->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* ext = t->add_external_data();
  ext->set_key("location");
  ext->set_value("weights.bin");
  CHECK(contains(load_error(m, f), "initializer 'w' keeps its data in an external file (external data)"));

  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_data_type(::onnx::TensorProto::FLOAT16);
  CHECK(contains(load_error(m, f), "initializer 'w' has data type FLOAT16, which Ember does not read"));

  m = small_model();
  *m.mutable_graph()->add_initializer() = m.graph().initializer(0);
  CHECK(contains(load_error(m, f), "initializer 'w' appears twice"));

  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, -2);
  CHECK(contains(load_error(m, f), "initializer 'w': negative dimension -2"));

  m = small_model();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, int64_t(1) << 40);
  m.mutable_graph()->mutable_initializer(0)->set_dims(1, int64_t(1) << 40);
  CHECK(contains(load_error(m, f), "initializer 'w': its shape is too large"));

  m = small_model();
  t = m.mutable_graph()->mutable_initializer(0);
  t->set_data_type(::onnx::TensorProto::BOOL);
  t->clear_raw_data();
  for (int v : {0, 1, 2, 0, 1, 0}) t->add_int32_data(v);
  CHECK(contains(load_error(m, f), "initializer 'w': value 2 is out of range for BOOL"));
}

TEST_CASE("ONNX files: truncated, damaged or too large files are refused, never a crash") {
  ScratchDir dir("onnx_trunc");
  examples::MNISTNet net;
  net.eval();
  ember::onnx::export_model(net, randn({2, 1, 28, 28}), dir.file("full.onnx"));
  std::vector<uint8_t> bytes = read_bytes(dir.file("full.onnx"));
  write_bytes(dir.file("half.onnx"), bytes, bytes.size() / 2);
  std::string e = error_of([&] { load(dir.file("half.onnx")); });
  CHECK(contains(e, dir.file("half.onnx") + ": not a valid ONNX model (protobuf could not parse it"));
  // Cut anywhere, or with bytes flipped: an error or a valid read, whatever the cut.
  for (size_t cut : {size_t(3), size_t(10), size_t(100), bytes.size() / 3, bytes.size() - 7, bytes.size() - 1}) {
    write_bytes(dir.file("cut.onnx"), bytes, cut);
    try {
      load(dir.file("cut.onnx"));
    } catch (const Error&) {
    }
  }
  for (size_t at = 3; at < bytes.size(); at += bytes.size() / 97) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0xa5;
    write_bytes(dir.file("flip.onnx"), bad);
    try {
      load(dir.file("flip.onnx"));
    } catch (const Error&) {
    }
  }
  // Over protobuf's limit: refused from its size, before anything is read (a sparse file).
  write_bytes(dir.file("big.onnx"), bytes, 64);
  REQUIRE(::truncate(dir.file("big.onnx").c_str(), off_t(io::kOnnxMaxFile) + 1) == 0);
  CHECK(contains(error_of([&] { load(dir.file("big.onnx")); }), "over protobuf's limit of 2147483647 bytes"));
}

TEST_CASE("train_mnist --export-onnx, then --load of the ONNX file, gives the same predictions") {
  ScratchDir dir("onnx_train_mnist");
  std::string common = " --data " + mnist_dir() + " --test-size 300 --model mnistnet-bn ";
  Run a = run(kBin + "train_mnist" + common + "--epochs 1 --train-size 640 --batch-size 32 --log-interval 100 " +
              "--export-onnx " + dir.file("m.onnx") + " --predictions " + dir.file("a.txt"));
  INFO(a.output);
  REQUIRE(a.code == 0);
  CHECK(contains(a.output, "Exported the model to " + dir.file("m.onnx") + " (ONNX, opset 17"));
  Run b = run(kBin + "train_mnist" + common + "--epochs 0 --load " + dir.file("m.onnx") + " --predictions " +
              dir.file("b.txt"));
  INFO(b.output);
  REQUIRE(b.code == 0);
  CHECK(read_bytes(dir.file("a.txt")) == read_bytes(dir.file("b.txt")));
  CHECK(read_bytes(dir.file("a.txt")).size() == 300);

  // ember-ckpt: the graph node by node beside the initializers; diff and convert treat it as a state dict.
  Run i = run(kBin + "ember-ckpt inspect " + dir.file("m.onnx"));
  INFO(i.output);
  CHECK(i.code == 0);
  CHECK(contains(i.output, "Conv(input, conv1.weight, conv1.bias) -> "));
  CHECK(contains(i.output, "BatchNormalization("));
  CHECK(contains(i.output, "-> output"));
  CHECK(contains(i.output, "bn1.running_mean"));
  Run c = run(kBin + "ember-ckpt convert " + dir.file("m.onnx") + " " + dir.file("m.safetensors"));
  INFO(c.output);
  CHECK(c.code == 0);
  Run d = run(kBin + "ember-ckpt diff " + dir.file("m.onnx") + " " + dir.file("m.safetensors"));
  INFO(d.output);
  CHECK(d.code == 0);
}

#else

TEST_CASE("without ONNX support, export and loading an ONNX file say so by name") {
  ScratchDir dir("onnx_off");
  CHECK_FALSE(ember::onnx::available());
  examples::MNISTNet m;
  CHECK(contains(error_of([&] { ember::onnx::export_model(m, randn({2, 1, 28, 28}), dir.file("a.onnx")); }),
                 "has no ONNX support"));
  // ir_version 8, then a producer_name field: recognised as ONNX by its content.
  write_bytes(dir.file("b.onnx"), {0x08, 0x08, 0x12, 0x04, 't', 'e', 's', 't'});
  CHECK(io::detect_file_format(dir.file("b.onnx")) == io::FileFormat::Onnx);
  CHECK(contains(error_of([&] { load(dir.file("b.onnx")); }), dir.file("b.onnx") + ": an ONNX model, but this build"));
}

#endif
